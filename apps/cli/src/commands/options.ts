import { Option } from 'commander';
import { InputError, type CorrespondencePreset, type SynthesisMode } from '@streamedit/pipeline';

/** A whole number ≥ min from a flag, or an InputError naming the flag. */
export function parseCount(value: string, flag: string, min: number): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < min) throw new InputError(`${flag} must be a whole number ≥ ${min}, got "${value}".`);
  return n;
}

export function parsePreset(value: string): CorrespondencePreset {
  if (value === 'cpu' || value === 'paper' || value === 'tiny') return value;
  throw new InputError(`Unknown preset "${value}": use cpu, paper or tiny.`);
}

export function parseSynthesis(value: string): SynthesisMode {
  if (value === 'off' || value === 'uncertain' || value === 'full') return value;
  throw new InputError(`Unknown synthesis mode "${value}": use off, uncertain or full.`);
}

/** `--synthesis off|uncertain|full` [uncertain], read with {@link parseSynthesis}. */
export function synthesisOption(): Option {
  return new Option('--synthesis <mode>', 'guided synthesis of uncertain pixels')
    .choices(['off', 'uncertain', 'full'])
    .default('uncertain');
}
