import { logger } from '../log';
import type { ModelStore } from '../models/model-store';
import { settingVariable } from '../settings';
import type { Backbone } from './backbone';
import { Dinov2Backbone, type Dinov2Options } from './dinov2';
import { XFeatBackbone, type XFeatVariant } from './xfeat';

const log = logger('features');

/** Which backbone a configuration leads to, and why (logged by `createBackbone`). */
export type BackboneChoice =
  | { readonly kind: 'dinov2'; readonly spec: string; readonly message: string }
  | { readonly kind: 'xfeat'; readonly model: XFeatVariant; readonly message: string };

export interface CreateBackboneOptions extends Dinov2Options {
  /** XFeat export used when DINOv2 is not configured. Default `xfeat_256x256`. */
  readonly xfeat?: XFeatVariant;
}

/**
 * The paper uses DINOv2 features; DINOv2 is not shipped, so without `STREAMEDIT_DINOV2` the backbone falls back
 * to XFeat. Pure, so the decision and its message can be tested without loading anything.
 */
export function chooseBackbone(dinov2: string | undefined, xfeat: XFeatVariant = 'xfeat_256x256'): BackboneChoice {
  const variable = settingVariable('dinov2');
  if (dinov2 !== undefined && dinov2.trim() !== '')
    return { kind: 'dinov2', spec: dinov2, message: `Backbone: DINOv2 from ${variable}=${dinov2}.` };
  return {
    kind: 'xfeat',
    model: xfeat,
    message: `Backbone: DINOv2 is not configured (${variable} is unset), falling back to XFeat (${xfeat}.onnx, 64-d descriptors); set ${variable} to a DINOv2 ONNX path or URL to use DINOv2.`,
  };
}

/**
 * The backbone of the store's settings: DINOv2 when `STREAMEDIT_DINOV2` is set (a missing or bad file is an
 * error then, not a silent fallback), else XFeat, with the fallback logged at warn level naming the model used.
 */
export async function createBackbone(store: ModelStore, options: CreateBackboneOptions = {}): Promise<Backbone> {
  const choice = chooseBackbone(store.settings.dinov2, options.xfeat);
  if (choice.kind === 'dinov2') {
    log.info(choice.message);
    return Dinov2Backbone.load(store, choice.spec, options);
  }
  log.warn({ model: choice.model }, choice.message);
  return XFeatBackbone.load(store, choice.model, options.threads);
}
