/**
 * The shared real clips (`/work/shared/data/videos`, never copied into the repo) and their published facts from
 * `/work/shared/data/README.md`. `STREAMEDIT_TEST_VIDEOS` points elsewhere (e.g. on CI).
 */
import { resolve } from 'node:path';
import { REPO_ROOT } from '@streamedit/pipeline';

export const VIDEOS_DIR = process.env.STREAMEDIT_TEST_VIDEOS ?? resolve(REPO_ROOT, '../shared/data/videos');

export interface ClipFacts {
  readonly file: string;
  readonly frames: number;
  readonly width: number;
  readonly height: number;
  readonly fps: number;
}

/** Every clip by short name, with the figures the data README gives. */
export const CLIPS = {
  katiehill: { file: 'hdtf_katiehill_WDA_000_512.mp4', frames: 200, width: 512, height: 512, fps: 25 },
  may: { file: 'may_theresa_5s_512.mp4', frames: 125, width: 512, height: 512, fps: 25 },
  d9: { file: 'lp_d9_selfie_glasses_blinks_512x480.mp4', frames: 587, width: 512, height: 480, fps: 30 },
  d3: { file: 'lp_d3_woman_expressions_512.mp4', frames: 354, width: 512, height: 512, fps: 30 },
  german: { file: 'mimictalk_german_anchor_20s_512.mp4', frames: 500, width: 512, height: 512, fps: 25 },
  d20: { file: 'lp_d20_outdoor_boy_480.mp4', frames: 175, width: 480, height: 480, fps: 25 },
  s18: { file: 'lp_s18_portrait_indoor_1280x720.mp4', frames: 282, width: 1280, height: 720, fps: 30 },
} as const satisfies Record<string, ClipFacts>;

export type ClipName = keyof typeof CLIPS;

/** Absolute path of a shared clip. */
export function clipPath(name: ClipName): string {
  return resolve(VIDEOS_DIR, CLIPS[name].file);
}
