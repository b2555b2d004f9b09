/** Weight of the newest measurement in the running means. */
const SMOOTHING = 0.2;

/**
 * Paces a live session's analysis (landmarks, features) against its edits (model, render): the next frame is taken
 * from the input and analysed so that its analysis ends about when the current frame's edit does. Analysing earlier
 * only makes the frame wait, older, for the model (with the cpu model at 512², starting as soon as possible made every
 * frame ~3 model runs old when it came out instead of ~1); analysing later leaves the model idle. With `drop-oldest`
 * input it also means the frame taken is the newest one.
 */
export class AnalysisPacer {
  private tokens = 1;
  private waiter?: () => void;
  private timer?: NodeJS.Timeout;
  private closed = false;
  private analyzeMs?: number;
  private editMs?: number;

  /** Resolves when the next frame may be taken and analysed (at once for the first frame and after `close`). */
  async turn(): Promise<void> {
    if (this.closed) return;
    if (this.tokens > 0) {
      this.tokens--;
      return;
    }
    await new Promise<void>((resolve) => (this.waiter = resolve));
  }

  /** A frame's edit starts now: lets the next analysis start when it will end with this edit. */
  editStarted(): void {
    clearTimeout(this.timer);
    const delay = Math.max(0, (this.editMs ?? 0) - (this.analyzeMs ?? 0));
    if (delay === 0) this.release();
    else this.timer = setTimeout(() => this.release(), delay);
  }

  /** Measured stage times (milliseconds), folded into running means. */
  analyzed(ms: number): void {
    this.analyzeMs = mean(this.analyzeMs, ms);
  }

  edited(ms: number): void {
    this.editMs = mean(this.editMs, ms);
  }

  /** Releases any waiting turn, now and from now on. */
  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
    this.release();
  }

  private release(): void {
    const waiter = this.waiter;
    this.waiter = undefined;
    if (waiter) waiter();
    else this.tokens = 1;
  }
}

function mean(current: number | undefined, sample: number): number {
  return current === undefined ? sample : current + SMOOTHING * (sample - current);
}
