/**
 * eventform's generator as a library: load and validate a topology, then generate its code. The
 * `eventform` command is the usual way in; this is for build tools.
 */
export * from './spec/index.js';
export { generate, GENERATOR_VERSION, GenerateError, GENERATE_CODES, MARKER_FILE } from './generate.js';
export type { FileMap, GenerateOptions, GenerateResult } from './generate.js';
