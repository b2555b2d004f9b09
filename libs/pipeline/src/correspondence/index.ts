export * from './io-spec';
export * from './inputs';
export * from './model';
export * from './trainer';
