export * from './errors';
export * from './log';
export * from './progress';
export * from './settings';
export * from './image/frame';
export * from './image/png';
export * from './image/warp';
export * from './models/onnx';
