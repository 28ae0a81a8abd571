/**
 * emit/runtime-modules.ts loads the runtime packages' pure modules from their files instead of the
 * package entries (which load the broker clients). What it loads must be what the packages export:
 * the same resource descriptors for every golden topology and the same module list. (A stale build
 * of a runtime package would show here first.)
 */
import { describe, expect, it } from 'vitest';
import { ajvRuntimeModules, transportResources } from '../../generator/src/emit/runtime-modules.js';
import { loadTopology } from '../../generator/src/spec/index.js';
import { kafkaResources } from '../../runtime/kafka/src/resources.js';
import { rabbitmqResources } from '../../runtime/rabbitmq/src/resources.js';
import { AJV_RUNTIME_MODULE } from '../../runtime/core/src/ajv-runtime.js';
import { goldenCases } from './support/cases.js';

describe('runtime modules loaded without the package entries', () => {
  it.each(goldenCases())('the resource descriptors match the packages for $name', async (c) => {
    const { ir } = loadTopology(c.topology);
    expect(ir).not.toBeNull();
    const loaded = await transportResources();
    expect(loaded.rabbitmqResources(ir!)).toEqual(rabbitmqResources(ir!));
    expect(loaded.kafkaResources(ir!)).toEqual(kafkaResources(ir!));
  });

  it('the ajvRuntime module list is the runtime package’s', async () => {
    expect(String(await ajvRuntimeModules())).toBe(String(AJV_RUNTIME_MODULE));
  });
});
