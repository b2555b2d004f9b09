/** Guided patch synthesis (EbSynth-class image analogy) and seam blending. */
export * from './types';
export { synthesizeGuided } from './synthesize';
export { identityNnf, nnfFromFlow, composeNnf } from './nnf';
export { blendSeams, seamWeights, distanceTransform } from './blend';
export { closeSynthesisWorkers } from './pool';
export { benchGuidedSynthesis, discMask, type SynthesisBenchRow, type SynthesisBenchOptions } from './bench';
