export * from './codec.js';
export * from './errors.js';
export * from './primitives.js';
export { Reader } from './reader.js';
export { Writer } from './writer.js';
