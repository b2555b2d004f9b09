import type { FarmConfig } from '../config';
import type { FarmStages } from '../jobs/stages';
import { analyzeStage } from './analyze-stage';
import { muxStage } from './mux-stage';
import { renderStage } from './render-stage';
import { trainStage } from './train-stage';

/**
 * The farm's stages backed by the editing pipeline (`@streamedit/pipeline`): the default `FARM_STAGES_MODULE`.
 * Each stage reads its inputs from and writes its outputs to the job's artifacts (storage/keys.ts), so any worker
 * can run any stage of any job, and a retried attempt starts from what is stored:
 *
 * - analyze: upload + edit → `edit/edited-{at}.png`, `frames/`, `landmarks/`, `features/`;
 * - train: → `checkpoints/iter-N/`, `model.onnx`, `training.json`; resumes from the newest stored checkpoint;
 * - render (window i): → `windows/{i}/` (segment, σ segment, edited reference, stats, contact-sheet columns);
 * - mux: → `output.mp4` (with the source's audio), `uncertainty.mp4`, `contact-sheet.png`, the report's body.
 *
 * Job presets map to trainer presets in `TRAINER_PRESET` (jobs/job-record.ts).
 */
export function createFarmStages(_config?: FarmConfig): FarmStages {
  return { analyze: analyzeStage, train: trainStage, renderWindow: renderStage, mux: muxStage };
}
