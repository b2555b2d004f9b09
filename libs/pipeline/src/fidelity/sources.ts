import type { Correspondence, CorrespondenceSource, PropagatedFrame } from '../job/propagate';

/**
 * Remembers the last (reference, current) pair: two propagations driven in lockstep (the edit and the
 * reconstruction of the same clip) ask for the same pairs in the same order, so the model runs once per frame.
 */
export class LastPairCache implements CorrespondenceSource {
  private key = '';
  private last?: Promise<Correspondence>;

  constructor(private readonly inner: CorrespondenceSource) {}

  between(ref: number, cur: number): Promise<Correspondence> {
    const key = `${ref}:${cur}`;
    if (key !== this.key || !this.last) {
      this.key = key;
      this.last = this.inner.between(ref, cur);
    }
    return this.last;
  }
}

/** Two frame streams of the same clip, frame by frame (they must yield the same indices). */
export async function* lockstep(
  a: AsyncGenerator<PropagatedFrame>,
  b: AsyncGenerator<PropagatedFrame>,
): AsyncGenerator<[PropagatedFrame, PropagatedFrame]> {
  try {
    for (;;) {
      const x = await a.next();
      const y = await b.next();
      if (x.done || y.done) return;
      if (x.value.index !== y.value.index) throw new RangeError('lockstep streams diverged');
      yield [x.value, y.value];
    }
  } finally {
    await a.return(undefined);
    await b.return(undefined);
  }
}
