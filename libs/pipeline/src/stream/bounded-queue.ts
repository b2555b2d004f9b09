/**
 * What a full queue does with one more item:
 * - `block`: the producer waits until there is room (nothing is lost; a file or a pipe simply slows down);
 * - `drop-oldest`: the oldest waiting item is dropped and the new one queued at once (a live source, e.g. a camera
 *   on a socket, cannot wait: the freshest frames matter most).
 */
export type BackpressurePolicy = 'block' | 'drop-oldest';

/** The queue was closed while a producer was waiting or after it (`push` rejects with it). */
export class QueueClosedError extends Error {
  constructor() {
    super('the queue is closed');
    this.name = 'QueueClosedError';
  }
}

/**
 * A FIFO of at most `capacity` items between one producer and one consumer, with a {@link BackpressurePolicy}.
 * Items keep their order; dropped items are handed to `onDrop` (for counters and events).
 */
export class BoundedQueue<T> {
  private readonly items: T[] = [];
  private readonly waitingConsumers: Array<(item: T | undefined) => void> = [];
  private readonly waitingProducers: Array<{ item: T; resolve: () => void; reject: (err: Error) => void }> = [];
  private closed = false;

  constructor(
    readonly capacity: number,
    readonly policy: BackpressurePolicy,
    private readonly onDrop: (item: T) => void = () => {},
  ) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`queue capacity must be ≥ 1, got ${capacity}`);
  }

  /** Items waiting (not counting producers blocked on a full queue). */
  get size(): number {
    return this.items.length;
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** Queues `item`; with `block` the promise settles once it is queued. Rejects with `QueueClosedError` after `close`. */
  push(item: T): Promise<void> {
    if (this.closed) return Promise.reject(new QueueClosedError());
    const consumer = this.waitingConsumers.shift();
    if (consumer) {
      consumer(item);
      return Promise.resolve();
    }
    if (this.items.length < this.capacity) {
      this.items.push(item);
      return Promise.resolve();
    }
    if (this.policy === 'drop-oldest') {
      this.onDrop(this.items.shift()!);
      this.items.push(item);
      return Promise.resolve();
    }
    return new Promise((resolve, reject) => this.waitingProducers.push({ item, resolve, reject }));
  }

  /** The next item, waiting for one; `undefined` once the queue is closed and empty. */
  shift(): Promise<T | undefined> {
    const item = this.items.shift();
    if (item !== undefined) {
      this.admitProducer();
      return Promise.resolve(item);
    }
    if (this.closed) return Promise.resolve(undefined);
    return new Promise((resolve) => this.waitingConsumers.push(resolve));
  }

  /**
   * No more items: waiting consumers get `undefined` once the queue is empty. With `discard`, waiting items and
   * blocked producers are dropped too (their `push` rejects); without it they are still delivered.
   */
  close(discard = false): void {
    this.closed = true;
    if (discard) {
      this.items.length = 0;
      for (const p of this.waitingProducers.splice(0)) p.reject(new QueueClosedError());
    }
    if (this.items.length === 0 && this.waitingProducers.length === 0) {
      for (const c of this.waitingConsumers.splice(0)) c(undefined);
    }
  }

  /** A producer blocked on a full queue gets the freed place. */
  private admitProducer(): void {
    const p = this.waitingProducers.shift();
    if (!p) {
      if (this.closed && this.items.length === 0) for (const c of this.waitingConsumers.splice(0)) c(undefined);
      return;
    }
    this.items.push(p.item);
    p.resolve();
  }
}
