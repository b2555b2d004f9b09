import { f1, f2, formatTable } from '../report-table';
import { meanOf } from './metrics';
import type { FidelityClipResult, MethodScores } from './run-clip';

/** One clip of the look oracle: the `cartoon` look propagated from frame 0 against the look applied to every frame. */
export interface LookOracleRow {
  readonly clip: string;
  readonly frames: number;
  /** Mean PSNR (dB) per method, frames 1..N−1. */
  readonly psnr: Readonly<Record<string, number>>;
}

const HEADER = [
  'clip',
  'method',
  'edit PSNR',
  'ceiling',
  'before encoder',
  'Δ vs DIS',
  'drift p50 / p95 px',
  'lost dots',
  'recon PSNR',
  'σ AUROC out / corr',
  'refs',
  'wall s',
];

/** The table of the known-motion clips: one row per (clip, method), then the mean of each method. */
export function fidelityTable(clips: readonly FidelityClipResult[]): string {
  const rows: string[][] = [];
  const row = (clip: string, m: MethodScores, ceiling: number, dis: number | undefined): string[] => [
    clip,
    m.method,
    f2(m.regionPsnr),
    f2(ceiling),
    f2(m.regionPsnrRaw),
    m.method === 'dis' || m.method === 'ceiling' || dis === undefined ? '' : f2(m.regionPsnr - dis),
    `${f2(m.driftMedian)} / ${f2(m.driftP95)}`,
    Number.isFinite(m.dotsLost) ? `${(100 * m.dotsLost).toFixed(1)} %` : '—',
    f2(m.reconPsnr),
    m.sigmaAuroc === undefined ? '—' : `${m.sigmaAuroc.toFixed(3)} / ${m.corrSigmaAuroc?.toFixed(3) ?? '—'}`,
    String(m.references),
    f1(m.wallMs / 1000),
  ];
  for (const c of clips) {
    const ceiling = c.methods.find((m) => m.method === 'ceiling')?.regionPsnr ?? Number.NaN;
    const dis = c.methods.find((m) => m.method === 'dis')?.regionPsnr;
    for (const m of c.methods) rows.push(row(c.clip, m, ceiling, dis));
  }
  const methods = [...new Set(clips.flatMap((c) => c.methods.map((m) => m.method)))];
  const pick = (method: string, f: (m: MethodScores) => number | undefined): number =>
    meanOf(clips.map((c) => c.methods.find((m) => m.method === method)).map((m) => (m ? f(m) : undefined)));
  for (const method of methods) {
    const mean: MethodScores = {
      method: method,
      regionPsnr: pick(method, (m) => m.regionPsnr),
      regionPsnrRaw: pick(method, (m) => m.regionPsnrRaw),
      driftMedian: pick(method, (m) => m.driftMedian),
      driftP95: pick(method, (m) => m.driftP95),
      dotsLost: pick(method, (m) => m.dotsLost),
      reconPsnr: pick(method, (m) => m.reconPsnr),
      sigmaAuroc: clips.some((c) => c.methods.some((m) => m.method === method && m.sigmaAuroc !== undefined))
        ? pick(method, (m) => m.sigmaAuroc)
        : undefined,
      corrSigmaAuroc: clips.some((c) => c.methods.some((m) => m.method === method && m.corrSigmaAuroc !== undefined))
        ? pick(method, (m) => m.corrSigmaAuroc)
        : undefined,
      references: Number.NaN,
      wallMs: pick(method, (m) => m.wallMs),
    };
    const r = row(
      'mean',
      mean,
      pick('ceiling', (m) => m.regionPsnr),
      methods.includes('dis') ? pick('dis', (m) => m.regionPsnr) : undefined,
    );
    r[10] = '';
    rows.push(r);
  }
  return formatTable(HEADER, rows);
}

/** The look-oracle table: PSNR per method and the product's margin over DIS. */
export function lookOracleTable(rows: readonly LookOracleRow[]): string {
  const methods = [...new Set(rows.flatMap((r) => Object.keys(r.psnr)))];
  const cells = rows.map((r) => [
    r.clip,
    String(r.frames),
    ...methods.map((m) => f2(r.psnr[m])),
    f2((r.psnr.product ?? Number.NaN) - (r.psnr.dis ?? Number.NaN)),
  ]);
  cells.push([
    'mean',
    '',
    ...methods.map((m) => f2(meanOf(rows.map((r) => r.psnr[m])))),
    f2(meanOf(rows.map((r) => (r.psnr.product ?? Number.NaN) - (r.psnr.dis ?? Number.NaN)))),
  ]);
  return formatTable(['clip', 'frames', ...methods.map((m) => `${m} PSNR`), 'product − DIS'], cells);
}

/**
 * The acceptance lines for the product, from the tables: edited-region PSNR ≥ DIS + 3 dB or within 1 dB of
 * the ceiling with every clip ≥ DIS, dot drift p95 ≤ 2 px, σ AUROC ≥ 0.8, look oracle ≥ DIS + 1.5 dB with no clip
 * below DIS. Says which criterion holds; never hides a missing method.
 */
export function fidelityVerdict(clips: readonly FidelityClipResult[], look: readonly LookOracleRow[]): string {
  const lines: string[] = [];
  const ok = (b: boolean): string => (b ? 'PASS' : 'FAIL');
  const of = (c: FidelityClipResult, m: string): MethodScores | undefined => c.methods.find((x) => x.method === m);
  const both = clips.filter((c) => of(c, 'product') && of(c, 'dis'));
  if (both.length) {
    const p = meanOf(both.map((c) => of(c, 'product')!.regionPsnr));
    const d = meanOf(both.map((c) => of(c, 'dis')!.regionPsnr));
    const ceil = meanOf(both.map((c) => of(c, 'ceiling')!.regionPsnr));
    const below = both.filter((c) => of(c, 'product')!.regionPsnr < of(c, 'dis')!.regionPsnr).map((c) => c.clip);
    lines.push(
      `${ok((p >= d + 3 || p >= ceil - 1) && below.length === 0)} edit PSNR: product ${f2(p)} dB, DIS ${f2(d)} (Δ ${f2(p - d)}, needs ≥ +3), ceiling ${f2(ceil)} (needs within 1); clips below DIS: ${below.join(', ') || 'none'}`,
    );
  }
  const prod = clips.map((c) => of(c, 'product')).filter((m): m is MethodScores => m !== undefined);
  if (prod.length) {
    const worst = Math.max(...prod.map((m) => m.driftP95));
    lines.push(`${ok(worst <= 2)} dot drift p95: product worst clip ${f2(worst)} px (needs ≤ 2)`);
    const au = meanOf(prod.map((m) => m.sigmaAuroc));
    const corr = meanOf(prod.map((m) => m.corrSigmaAuroc));
    lines.push(
      `${ok(au >= 0.8)} σ AUROC (edit error > 10/255): product mean ${Number.isFinite(au) ? au.toFixed(3) : '—'} for the output's σ (needs ≥ 0.8); the correspondence's σ alone ${Number.isFinite(corr) ? corr.toFixed(3) : '—'}`,
    );
  }
  const lk = look.filter((r) => Number.isFinite(r.psnr.product) && Number.isFinite(r.psnr.dis));
  if (lk.length) {
    const delta = meanOf(lk.map((r) => r.psnr.product! - r.psnr.dis!));
    const below = lk.filter((r) => r.psnr.product! < r.psnr.dis!).map((r) => r.clip);
    lines.push(
      `${ok(delta >= 1.5 && below.length === 0)} look oracle: product − DIS mean ${f2(delta)} dB (needs ≥ 1.5); clips below DIS: ${below.join(', ') || 'none'}`,
    );
  }
  return lines.join('\n');
}
