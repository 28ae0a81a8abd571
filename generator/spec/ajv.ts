/**
 * The ajv set-up used to check topology schemas: draft 2020-12, all errors, formats, lenient
 * strict mode except `strictTypes`, whose complaints are captured as warnings.
 *
 * Start-up cost matters (`eventform validate` runs in editors and git hooks): the meta-schema
 * check uses a validator precompiled into `meta-validator.generated.cjs`, and ajv itself is
 * loaded lazily with `require` (it is CommonJS, so the loader stays synchronous) only when a
 * topology gets as far as compiling payloads.
 */
import { createRequire } from 'node:module';
import type { Ajv2020, ErrorObject } from 'ajv/dist/2020.js';
import { guardedRegExp } from './guarded-regexp.js';

export interface SchemaAjv {
  /** Compiles payloads; fresh per load so compiled schemas do not pile up in a long-lived process. */
  ajv: Ajv2020;
  /** Validates a schema against the 2020-12 meta-schema; errors in `metaErrors`. */
  validateSchema(schema: unknown): boolean;
  metaErrors(): ErrorObject[];
  /** Messages ajv logged since the last call. */
  takeWarnings(): string[];
}

type MetaValidator = ((schema: unknown) => boolean) & { errors?: ErrorObject[] | null };

const require = createRequire(import.meta.url);
let metaValidator: MetaValidator | undefined;

export function createAjv(): SchemaAjv {
  metaValidator ??= require('./meta-validator.generated.cjs') as MetaValidator;
  const meta = metaValidator;
  let lazy: Ajv2020 | undefined;
  let warnings: string[] = [];
  const make = (): Ajv2020 => {
    const { Ajv2020: AjvClass } = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
    const formats = require('ajv-formats') as { default: (ajv: Ajv2020) => Ajv2020 };
    const ajv = new AjvClass({
      strict: false,
      strictTypes: 'log',
      allErrors: true,
      validateFormats: true,
      // Schemas were checked against the meta-schema already (above).
      validateSchema: false,
      code: { regExp: guardedRegExp() },
      logger: {
        log: () => {},
        warn: (...args: unknown[]) => void warnings.push(args.map(String).join(' ')),
        error: (...args: unknown[]) => void warnings.push(args.map(String).join(' ')),
      },
    });
    formats.default(ajv);
    return ajv;
  };
  return {
    get ajv() {
      lazy ??= make();
      return lazy;
    },
    validateSchema: (schema) => meta(schema),
    metaErrors: () => meta.errors ?? [],
    takeWarnings() {
      const w = warnings;
      warnings = [];
      return w;
    },
  };
}
