/** Injection tokens of things that are not classes of this app (the shared Redis connection, settings, store). */
export const REDIS = Symbol('REDIS');
export const FARM_CONFIG = Symbol('FARM_CONFIG');
export const ARTIFACT_STORE = Symbol('ARTIFACT_STORE');
