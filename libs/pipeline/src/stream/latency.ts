/** Percentiles of recent per-frame latencies (milliseconds). */
export interface LatencySummary {
  readonly count: number;
  readonly meanMs: number;
  readonly p50Ms: number;
  readonly p95Ms: number;
  readonly maxMs: number;
}

/** Keeps the last `window` latencies (default 1000) and summarises them on demand. */
export class LatencyWindow {
  private readonly values: number[] = [];

  constructor(private readonly window = 1000) {}

  add(ms: number): void {
    this.values.push(ms);
    if (this.values.length > this.window) this.values.shift();
  }

  summary(): LatencySummary {
    return summarizeLatencies(this.values);
  }
}

/** Mean, p50, p95 (nearest rank) and max of `values`; zeros when empty. */
export function summarizeLatencies(values: readonly number[]): LatencySummary {
  if (values.length === 0) return { count: 0, meanMs: 0, p50Ms: 0, p95Ms: 0, maxMs: 0 };
  const sorted = [...values].sort((a, b) => a - b);
  const rank = (p: number): number =>
    sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))]!;
  return {
    count: sorted.length,
    meanMs: sorted.reduce((s, v) => s + v, 0) / sorted.length,
    p50Ms: rank(0.5),
    p95Ms: rank(0.95),
    maxMs: sorted[sorted.length - 1]!,
  };
}
