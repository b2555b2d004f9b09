export * from './benchmark-record';
export * from './benchmark-repository';
export * from './benchmark-queue';
export * from './benchmark-worker';
