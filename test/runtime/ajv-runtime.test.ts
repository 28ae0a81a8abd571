/** ajvRuntime serves exactly ajv's run-time helpers to generated validators, and nothing else. */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { AJV_RUNTIME_MODULE, ajvRuntime } from '../../runtime/core/src/ajv-runtime.js';

const require = createRequire(import.meta.url);

describe('ajvRuntime', () => {
  it.each([
    'ajv/dist/runtime/ucs2length',
    'ajv/dist/runtime/equal',
    'ajv/dist/runtime/uri',
    'ajv-formats/dist/formats',
  ])('serves %s as require() would', (id) => {
    expect(AJV_RUNTIME_MODULE.test(id)).toBe(true);
    expect(ajvRuntime(id)).toBe(require(id));
  });

  it.each(['fs', 'node:child_process', 'ajv', 'ajv/dist/runtime/../../package.json', 'ajv/dist/compile/index', '../x'])(
    'refuses %s',
    (id) => {
      expect(() => ajvRuntime(id)).toThrow(/is not an ajv run-time module/);
    },
  );
});
