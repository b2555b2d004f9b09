import {
  DEFAULT_ARR,
  InputError,
  type ArrOptions,
  type BackpressurePolicy,
  type CorrespondencePreset,
  type EditSpec,
  type FrameFormat,
} from '@streamedit/pipeline';
import { isJobId } from '../storage/keys';
import { z } from 'zod';

const edit = z.union([
  z.object({ look: z.string().min(1).max(64), at: z.number().int().min(0).optional() }).strict(),
  z.object({ prompt: z.string().min(1).max(2000), at: z.number().int().min(0).optional() }).strict(),
]);

/** `POST /v1/streams`: a finished farm job's model, or a warm-up on the stream's first frames. */
export const streamRequestSchema = z
  .object({
    jobId: z.string().optional(),
    warmup: z
      .object({
        frames: z.number().int().min(2).max(500),
        preset: z.enum(['tiny', 'cpu']).default('tiny'),
        iterations: z.number().int().min(1).max(100_000).optional(),
        edit,
      })
      .strict()
      .optional(),
    /** What a full input queue does (default drop-oldest: a live client cannot wait). */
    policy: z.enum(['drop-oldest', 'block']).default('drop-oldest'),
    /** Online ARR; false: never replace the reference. */
    arr: z
      .union([
        z.literal(false),
        z
          .object({
            threshold: z.number().min(0).max(1).optional(),
            budgetPer100: z.number().int().min(0).max(100).optional(),
            persistence: z.number().int().min(1).max(1000).optional(),
          })
          .strict(),
      ])
      .optional(),
    /** Format of the edited frames sent back (default: the format of the frames received). */
    output: z.enum(['same', 'rgb', 'jpeg']).default('same'),
  })
  .strict();

/** A validated stream request. */
export interface StreamSpec {
  readonly source:
    | { readonly kind: 'job'; readonly jobId: string }
    | {
        readonly kind: 'warmup';
        readonly frames: number;
        readonly preset: CorrespondencePreset;
        readonly iterations?: number;
        readonly edit: EditSpec;
      };
  readonly policy: BackpressurePolicy;
  readonly arr: ArrOptions | false;
  readonly output: FrameFormat | 'same';
}

/** Parses the body; anything off is an `InputError` naming the field. */
export function parseStreamRequest(body: unknown): StreamSpec {
  const parsed = streamRequestSchema.safeParse(body ?? {});
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    throw new InputError(`Invalid stream request field "${issue.path.join('.') || '(body)'}": ${issue.message}.`);
  }
  const r = parsed.data;
  if (Boolean(r.jobId) === Boolean(r.warmup))
    throw new InputError('Give either jobId (a finished job) or warmup (frames, preset, edit), not both or neither.');
  if (r.jobId !== undefined && !isJobId(r.jobId))
    throw new InputError(`jobId "${r.jobId}" is not a job id: give the id POST /v1/jobs returned.`);
  const arr = r.arr === false ? false : { ...DEFAULT_ARR, ...r.arr };
  const common = { policy: r.policy, arr, output: r.output } as const;
  if (r.jobId) return { source: { kind: 'job', jobId: r.jobId }, ...common };
  const w = r.warmup!;
  const spec: EditSpec =
    'look' in w.edit
      ? { kind: 'look', name: w.edit.look, at: w.edit.at }
      : { kind: 'prompt', text: w.edit.prompt, at: w.edit.at };
  return {
    source: { kind: 'warmup', frames: w.frames, preset: w.preset, iterations: w.iterations, edit: spec },
    ...common,
  };
}
