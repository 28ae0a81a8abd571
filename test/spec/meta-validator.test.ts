/** The precompiled meta-schema validator is in sync with the installed ajv and behaves like it. */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { META_VALIDATOR_FILE, metaValidatorSource } from '../../generator/precompiled/build-meta-validator.js';

const require = createRequire(import.meta.url);

describe('meta-validator.generated.cjs', () => {
  it('is up to date (regenerate: npx tsx generator/precompiled/build-meta-validator.ts)', () => {
    expect(readFileSync(META_VALIDATOR_FILE, 'utf8')).toBe(metaValidatorSource());
  });

  it('agrees with a run-time ajv on valid and invalid schemas', () => {
    const precompiled = require(META_VALIDATOR_FILE) as ((s: unknown) => boolean) & {
      errors?: { instancePath: string }[] | null;
    };
    const { Ajv2020 } = require('ajv/dist/2020.js') as typeof import('ajv/dist/2020.js');
    const ajv = new Ajv2020({ strict: false, allErrors: true, validateFormats: false, logger: false });
    const samples: unknown[] = [
      true,
      { type: 'object', properties: { a: { type: 'string' } }, required: ['a'] },
      { type: 'strin' },
      { properties: { a: { minimum: 'x' } } },
      { prefixItems: [{ type: 'string' }], items: false },
      { allOf: [] },
      { $ref: '#/$defs/X' },
      { items: [{ type: 'string' }] },
      { required: 'a' },
    ];
    for (const s of samples) {
      const expected = ajv.validateSchema(s as object);
      expect(precompiled(s), JSON.stringify(s)).toBe(expected);
      if (!expected) {
        expect(precompiled.errors!.map((e) => e.instancePath).sort()).toEqual(
          ajv.errors!.map((e) => e.instancePath).sort(),
        );
      }
    }
  });
});
