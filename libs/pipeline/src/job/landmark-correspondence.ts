import { createFlow } from '../image/warp';
import type { LandmarkWarp } from '../landmarks/landmark-warp';
import { LandmarkTrack } from '../landmarks/landmark-track';
import type { Correspondence, CorrespondenceSource } from './propagate';
import { initFlowFor } from './training-data';
import { workLayout } from './work-dir';

/**
 * The landmark warp alone as a correspondence (the "without PPCE" ablation and the model's initialisation):
 * F_Lwarp at working size, σ = 0 everywhere (it has no notion of uncertainty).
 */
export class LandmarkCorrespondence implements CorrespondenceSource {
  private readonly warps = new Map<number, LandmarkWarp>();

  private constructor(private readonly track: LandmarkTrack) {}

  static async open(workDir: string): Promise<LandmarkCorrespondence> {
    return new LandmarkCorrespondence(await LandmarkTrack.open(workLayout(workDir).landmarks));
  }

  async between(ref: number, cur: number): Promise<Correspondence> {
    const size = { width: this.track.width, height: this.track.height };
    const flow = createFlow(size.width, size.height, initFlowFor(this.track, cur, ref, size, this.warps));
    return { flow, sigma: { ...size, data: new Float32Array(size.width * size.height) } };
  }

  async close(): Promise<void> {}
}
