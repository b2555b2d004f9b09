import { AnalysisPacer } from './analysis-pacer';
import { BoundedQueue, QueueClosedError } from './bounded-queue';
import type { EditedFrame } from './live-editor';
import type { Engine } from './live-engine';
import type { LiveFrame } from './live-frame';
import type { Incoming } from './live-types';

/** What the live loop works with: the session's input, its editor and delivery, and whether it is closing. */
export interface LiveLoopParts {
  readonly input: BoundedQueue<Incoming>;
  readonly edit: (engine: Engine, frame: LiveFrame, analyzeMs: number) => Promise<EditedFrame>;
  readonly deliver: (item: Incoming, frame: EditedFrame, started: number, timed: boolean) => Promise<void>;
  readonly closing: () => boolean;
  /** Records a failure of the loop before the input closes, so a producer blocked in `push` is told why. */
  readonly failed: (err: Error) => void;
}

/**
 * The live loop: a pump analyses the next frame while this loop edits the current one, started by an
 * `AnalysisPacer` so that it is ready when the edit ends, not before. Ends when the input ends (or the session
 * closes); closes the input whatever happens.
 */
export async function editLive(engine: Engine, o: LiveLoopParts): Promise<void> {
  const pacer = new AnalysisPacer();
  const analysed = new BoundedQueue<{
    item: Incoming;
    started: number;
    frame: Promise<{ frame: LiveFrame; ms: number }>;
  }>(1, 'block');
  const pump = (async () => {
    try {
      for (;;) {
        await pacer.turn();
        const item = await o.input.shift();
        if (item === undefined) break;
        const started = performance.now();
        const frame = engine.analyzer.analyze(item.index, item.image).then((f) => {
          const ms = performance.now() - started;
          pacer.analyzed(ms);
          return { frame: f, ms };
        });
        frame.catch(() => undefined); // awaited in order by the loop below
        await analysed.push({ item, started, frame });
      }
    } catch (err) {
      if (!(err instanceof QueueClosedError)) throw err;
    } finally {
      analysed.close();
    }
  })();
  try {
    for (let next = await analysed.shift(); next !== undefined; next = await analysed.shift()) {
      if (o.closing()) break;
      const { frame, ms } = await next.frame;
      const editStart = performance.now();
      pacer.editStarted();
      const edited = await o.edit(engine, frame, ms);
      pacer.edited(performance.now() - editStart);
      await o.deliver(next.item, edited, next.started, true);
    }
  } catch (err) {
    if (!o.closing()) o.failed(err instanceof Error ? err : new Error(String(err)));
    throw err;
  } finally {
    pacer.close();
    analysed.close(true);
    o.input.close(true);
    await pump;
  }
}
