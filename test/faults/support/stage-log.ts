/**
 * Stage executions as the workers logged them (`stage started` / `stage done` lines of their pino output, with job,
 * stage and window), for "no stage ran twice" and "this one ran again after the kill" assertions.
 */

export interface StageEvent {
  readonly job: string;
  readonly stage: string;
  readonly window?: number;
  readonly msg: 'stage started' | 'stage done';
  readonly worker: string;
}

/** Every `stage started` / `stage done` line in the workers' outputs. */
export function stageEvents(outputs: ReadonlyArray<{ name: string; text: string }>): StageEvent[] {
  const out: StageEvent[] = [];
  for (const { name, text } of outputs) {
    for (const line of text.split('\n')) {
      if (!line.includes('"msg":"stage ')) continue;
      try {
        const e = JSON.parse(line) as { job?: string; stage?: string; window?: number; msg?: string };
        if (e.job && e.stage && (e.msg === 'stage started' || e.msg === 'stage done'))
          out.push({ job: e.job, stage: e.stage, window: e.window, msg: e.msg, worker: name });
      } catch {
        // a partial line at the end of a killed worker's output
      }
    }
  }
  return out;
}

/** How often each `stage[:window]` of `job` logged `msg`, e.g. `{ analyze: 1, train: 2, 'render:0': 1 }`. */
export function countStages(
  events: readonly StageEvent[],
  job: string,
  msg: StageEvent['msg'],
): Record<string, number> {
  const out: Record<string, number> = {};
  for (const e of events) {
    if (e.job !== job || e.msg !== msg) continue;
    const k = e.window === undefined ? e.stage : `${e.stage}:${e.window}`;
    out[k] = (out[k] ?? 0) + 1;
  }
  return out;
}
