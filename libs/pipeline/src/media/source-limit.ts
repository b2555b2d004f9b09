/** The largest source an edit is rendered at (4K UHD, either orientation). */
export const MAX_SOURCE = { width: 3840, height: 2160 } as const;

/**
 * Why a source (video or live frame, named by `what`) of this size is too large to edit, or undefined when it is
 * within {@link MAX_SOURCE} in either orientation.
 */
export function oversizeProblem(what: string, size: { width: number; height: number }): string | undefined {
  const [long, short] = [Math.max(size.width, size.height), Math.min(size.width, size.height)];
  if (long <= MAX_SOURCE.width && short <= MAX_SOURCE.height) return undefined;
  return `${what} is ${size.width}×${size.height}: the largest size edited is ${MAX_SOURCE.width}×${MAX_SOURCE.height} (either orientation); downscale it first.`;
}
