import type { Correspondence, CorrespondenceSource, PropagatedFrame } from '../job/propagate';

/**
 * Remembers the last few (reference, current) pairs: propagations driven in lockstep (the edit and the
 * reconstruction of the same clip) ask for the same pairs — the edit a few frames ahead when its edit flow is
 * smoothed along time — so the model runs once per frame.
 */
export class LastPairCache implements CorrespondenceSource {
  private readonly recent = new Map<string, Promise<Correspondence>>();

  /** @param capacity pairs kept [12]: more than the temporal edit flow's look-ahead. */
  constructor(
    private readonly inner: CorrespondenceSource,
    private readonly capacity = 12,
  ) {}

  between(ref: number, cur: number): Promise<Correspondence> {
    const key = `${ref}:${cur}`;
    let hit = this.recent.get(key);
    if (!hit) {
      hit = this.inner.between(ref, cur);
      this.recent.set(key, hit);
      if (this.recent.size > this.capacity) this.recent.delete(this.recent.keys().next().value!);
    }
    return hit;
  }
}

/** Frame streams of the same clip, frame by frame (they must yield the same indices). */
export async function* lockstep<T extends AsyncGenerator<PropagatedFrame>[]>(
  ...streams: T
): AsyncGenerator<{ [K in keyof T]: PropagatedFrame }> {
  try {
    for (;;) {
      const next: PropagatedFrame[] = [];
      for (const s of streams) {
        const r = await s.next();
        if (r.done) return;
        next.push(r.value);
      }
      if (next.some((f) => f.index !== next[0]!.index)) throw new RangeError('lockstep streams diverged');
      yield next as { [K in keyof T]: PropagatedFrame };
    }
  } finally {
    for (const s of streams) await s.return(undefined);
  }
}
