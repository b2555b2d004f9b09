import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import type { ProgressEvent, ProgressListener } from '@streamedit/pipeline';

/**
 * Progress bars on stderr, one per stage, so stdout stays clean for `--json`. Without a TTY the bars are
 * redrawn as plain lines at most every 2 s (CI logs stay short).
 */
export function progressBars(enabled = true): { listener: ProgressListener; stop: () => void } {
  if (!enabled) return { listener: () => {}, stop: () => {} };
  const multi = new MultiBar(
    {
      stream: process.stderr,
      format: ' {stage} |{bar}| {value}/{total} {info}',
      hideCursor: true,
      clearOnComplete: false,
      noTTYOutput: !process.stderr.isTTY,
      notTTYSchedule: 2000,
      etaBuffer: 20,
    },
    Presets.shades_classic,
  );
  const bars = new Map<string, SingleBar>();
  const listener = (e: ProgressEvent): void => {
    const info = e.info ? Object.entries(e.info).map(([k, v]) => `${k}=${typeof v === 'number' ? +v.toFixed(4) : v}`).join(' ') : '';
    let bar = bars.get(e.stage);
    if (!bar) {
      bar = multi.create(e.total ?? 0, 0, { stage: e.stage.padEnd(10), info });
      bars.set(e.stage, bar);
    }
    if (e.total !== undefined) bar.setTotal(e.total);
    bar.update(e.done, { info });
  };
  return { listener, stop: () => multi.stop() };
}
