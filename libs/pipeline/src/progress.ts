/** Progress of a long stage; `total` is unknown while streaming. The CLI draws bars, workers call job.updateProgress. */
export interface ProgressEvent {
  readonly stage: string;
  readonly done: number;
  readonly total?: number;
  /** Free-form figures for the stage (losses, iter/s, …), shown next to the bar. */
  readonly info?: Readonly<Record<string, number | string>>;
}

export type ProgressListener = (event: ProgressEvent) => void;

export const noProgress: ProgressListener = () => {};
