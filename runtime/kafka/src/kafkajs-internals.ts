/**
 * The transport's two uses of kafkajs' private internals, and the rule both follow.
 *
 * - The record encoder (record-encoder.ts) writes each record this transport produces into one
 *   exactly sized buffer instead of kafkajs' per-header encoders (README, "Record encoding").
 * - The record decoder (record-decoder.ts) builds a fetched record's headers in one pass instead of
 *   kafkajs' object spread per header (README, "Record decoding").
 *
 * kafkajs has no hook for either, so each replaces a module's exports in Node's module cache, which
 * works only before the kafkajs module that captures it is loaded (the produce request on the first
 * produce in the process, the record batch decoder on the first fetch). The rule:
 * 1. an exact version gate — the installed kafkajs must be {@link VERIFIED_KAFKAJS_VERSION}, the
 *    version these internals were read in and verified against (2.2.4 is kafkajs' last release);
 * 2. a self-check before installing: each runs on known records side by side with kafkajs' own
 *    code and must produce the same bytes / the same objects;
 * 3. a visible warning (`logger.warn`) from every transport constructed while a path is off,
 *    naming why;
 * 4. a safe fallback: kafkajs' own encoder and decoder, untouched;
 * 5. installed when the first transport is constructed (once per process), never by importing a
 *    module.
 *
 * `EVENTFORM_KAFKA_RECORD_ENCODER=kafkajs` / `EVENTFORM_KAFKA_RECORD_DECODER=kafkajs` turn a path
 * off (read when the first transport is constructed; an installed path stays for the process).
 */
import { createRequire } from 'node:module';
import type { Logger } from '@eventform/runtime';
import { RECORD_DECODER_SWAP } from './record-decoder.js';
import { RECORD_ENCODER_SWAP } from './record-encoder.js';

/** The kafkajs version whose internals both paths were read in and verified against. */
export const VERIFIED_KAFKAJS_VERSION = '2.2.4';

/** What became of one path: installed, or why not. */
export type InternalsStatus =
  'installed' | 'disabled' | 'unsupported-kafkajs-version' | 'too-late' | 'self-check-failed' | 'not-found';

export interface KafkajsFastPaths {
  /** The installed kafkajs' version, when it could be read. */
  version: string | undefined;
  /** Records this transport produces, encoded by record-encoder.ts. */
  recordEncoder: InternalsStatus;
  /** Records any kafkajs consumer in the process fetches, decoded by record-decoder.ts. */
  recordDecoder: InternalsStatus;
}

/** One module swap: the module replaced, the module that captures it when it loads, the swap. */
export interface ModuleSwap<T> {
  /** Turned off by this environment variable set to `kafkajs`. */
  env: string;
  /** The module whose exports are replaced (a kafkajs path). */
  module: string;
  /** The kafkajs module that takes the exports when it loads; too late once it has. */
  capturedBy: string;
  /**
   * The replacement for kafkajs' own exports, or `undefined` when the self-check failed. `load`
   * requires another kafkajs module by path.
   */
  make(original: T, load: (module: string) => unknown): T | undefined;
}

const require = createRequire(import.meta.url);

/** The installed kafkajs' version, or `undefined` when it cannot be read. */
export function kafkajsVersion(): string | undefined {
  try {
    return (require('kafkajs/package.json') as { version?: string }).version;
  } catch {
    return undefined;
  }
}

/** Replace `swap.module`'s exports in Node's module cache, if the rule allows; returns what happened. */
export function swapModule<T>(swap: ModuleSwap<T>, env: NodeJS.ProcessEnv = process.env): InternalsStatus {
  if (env[swap.env] === 'kafkajs') return 'disabled';
  let modulePath: string;
  let capturedByPath: string;
  try {
    if (kafkajsVersion() !== VERIFIED_KAFKAJS_VERSION) return 'unsupported-kafkajs-version';
    modulePath = require.resolve(swap.module);
    capturedByPath = require.resolve(swap.capturedBy);
  } catch {
    return 'not-found';
  }
  if (require.cache[capturedByPath]) return 'too-late';
  let replacement: T | undefined;
  let cached: NodeJS.Module | undefined;
  try {
    const original = require(modulePath) as T;
    cached = require.cache[modulePath];
    replacement = swap.make(original, (module) => require(module));
  } catch {
    replacement = undefined;
  }
  if (!cached || replacement === undefined) return 'self-check-failed';
  cached.exports = replacement;
  return 'installed';
}

let fastPaths: KafkajsFastPaths | undefined;

/**
 * Install both paths, once per process (the first transport's constructor calls it), and return
 * what became of each; later calls return the same.
 */
export function kafkajsFastPaths(env: NodeJS.ProcessEnv = process.env): KafkajsFastPaths {
  fastPaths ??= {
    version: kafkajsVersion(),
    recordEncoder: swapModule(RECORD_ENCODER_SWAP, env),
    recordDecoder: swapModule(RECORD_DECODER_SWAP, env),
  };
  return fastPaths;
}

/** What became of the record encoder, or `undefined` before a transport was constructed. */
export function recordEncoderStatus(): InternalsStatus | undefined {
  return fastPaths?.recordEncoder;
}

/** What became of the record decoder, or `undefined` before a transport was constructed. */
export function recordDecoderStatus(): InternalsStatus | undefined {
  return fastPaths?.recordDecoder;
}

/** What each transport logs while a path is off. */
export function reportFastPaths(paths: KafkajsFastPaths, logger: Logger): void {
  if (paths.recordEncoder !== 'installed') {
    logger.warn("kafka record encoder off: records are encoded by kafkajs' own encoder (slower, same bytes)", {
      reason: describeStatus(paths.recordEncoder, 'EVENTFORM_KAFKA_RECORD_ENCODER', paths.version),
    });
  }
  if (paths.recordDecoder !== 'installed') {
    logger.warn(
      "kafka record decoder off: fetched records are decoded by kafkajs' own decoder (slower, same records)",
      {
        reason: describeStatus(paths.recordDecoder, 'EVENTFORM_KAFKA_RECORD_DECODER', paths.version),
      },
    );
  }
}

function describeStatus(status: InternalsStatus, env: string, version: string | undefined): string {
  switch (status) {
    case 'installed':
      return 'installed';
    case 'disabled':
      return `turned off by ${env}=kafkajs`;
    case 'unsupported-kafkajs-version':
      return `kafkajs ${version ?? '(unknown version)'} is installed; the internals were verified with ${VERIFIED_KAFKAJS_VERSION} only`;
    case 'too-late':
      return 'kafkajs code in this process produced or fetched before the first KafkaTransport was constructed; construct it first';
    case 'self-check-failed':
      return "the self-check against kafkajs' own code failed";
    case 'not-found':
      return "kafkajs' internal modules could not be found";
  }
}
