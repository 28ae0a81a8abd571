/**
 * The ajv set-up used to check topology schemas: draft 2020-12, all errors, formats, lenient
 * strict mode except `strictTypes`, whose complaints are captured as warnings.
 *
 * Start-up cost matters (`eventform validate` runs in editors and git hooks): the meta-schema
 * check uses a validator precompiled into `precompiled/meta-validator.generated.cjs`, and ajv itself is
 * loaded lazily with `require` (it is CommonJS, so the loader stays synchronous) only when a
 * topology gets as far as compiling payloads.
 */
import { createRequire } from 'node:module';
import type { Ajv2020, ErrorObject } from 'ajv/dist/2020.js';
import type { JsonSchema } from '@eventform/runtime';
import { PAYLOAD_AJV_OPTIONS } from '@eventform/runtime/ajv';
import { guardedRegExp } from './guarded-regexp.js';

export interface SchemaAjv {
  /** Compiles payloads; fresh per load so compiled schemas do not pile up in a long-lived process. */
  ajv: Ajv2020;
  /**
   * Compiles `schema` for its diagnostics only: throws and logs exactly what `ajv.compile` would,
   * but the generated code is never turned into a function (that parse is a large share of
   * compile time, wasted on a payload with no examples to validate). Do not `ajv.compile` the
   * same schema object afterwards: ajv caches it, without a usable validator.
   */
  checkOnly(schema: JsonSchema): void;
  /** Validates a schema against the 2020-12 meta-schema; errors in `metaErrors`. */
  validateSchema(schema: unknown): boolean;
  metaErrors(): ErrorObject[];
  /** Messages ajv logged since the last call. */
  takeWarnings(): string[];
}

type MetaValidator = ((schema: unknown) => boolean) & { errors?: ErrorObject[] | null };

const require = createRequire(import.meta.url);
let metaValidator: MetaValidator | undefined;

/** Stands in for the code of a schema compiled by `checkOnly`; never called. */
const NO_VALIDATOR = 'return function checkedOnly() { throw new Error("compiled for diagnostics only"); };';

export function createAjv(): SchemaAjv {
  metaValidator ??= require('../../precompiled/meta-validator.generated.cjs') as MetaValidator;
  const meta = metaValidator;
  let lazy: Ajv2020 | undefined;
  let warnings: string[] = [];
  // Roots compiled by checkOnly; refs they compile have the same root.
  const diagnosticsOnly = new WeakSet<object>();
  const make = (): Ajv2020 => {
    const { Ajv2020: AjvClass } = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
    const formats = require('ajv-formats') as { default: (ajv: Ajv2020) => Ajv2020 };
    const ajv = new AjvClass({
      ...PAYLOAD_AJV_OPTIONS,
      strictTypes: 'log',
      // Schemas were checked against the meta-schema already (above).
      validateSchema: false,
      code: {
        regExp: guardedRegExp(),
        // ajv's optimiser rewrites the generated code for speed; these validators run a few
        // examples once, so it is a quarter of compile time for nothing.
        optimize: false,
        process: (code, env) => (env?.root && diagnosticsOnly.has(env.root.schema as object) ? NO_VALIDATOR : code),
      },
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
    checkOnly(schema) {
      lazy ??= make();
      if (typeof schema === 'object') diagnosticsOnly.add(schema);
      lazy.compile(schema);
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
