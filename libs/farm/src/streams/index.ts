export * from './stream-spec';
export * from './stream-token';
export * from './stream-records';
export * from './streamable-job';
