/**
 * `topology.ts`: the IR as data, typed `TopologyIR`, for `createRuntime({ topology })`.
 *
 * Key order is fixed here (the order of the IR interfaces in runtime/core/ir.ts; keys a newer IR
 * adds follow, sorted), so the file does not depend on how the loader happened to build objects.
 * The broker parts (`rabbitmq`, `kafka`, ...) sit where the loader puts them, after the
 * broker-neutral keys and before `loc`, in `BROKER_PACKAGES` order; inside, they keep the order their
 * package's topology section builds them in. Schemas and examples keep the topology author's order. Source paths are written relative to
 * the working directory (see generate.ts), so the bytes do not depend on where the repo lives.
 */
import type { TopologyIR } from '@eventform/runtime';
import { BROKER_SECTIONS } from '../spec/broker-sections.js';
import { quote } from '../naming.js';
import { CodeWriter, printLiteral } from './code.js';
import { codeBanner, type EmitContext, type GeneratedFile } from './context.js';

type Shape =
  readonly string[] | { keys: readonly string[]; nested?: Record<string, Shape>; opaque?: readonly string[] };

const LOC = ['file', 'line', 'col'] as const;
const RETRY = ['attempts', 'backoff', 'delayMs', 'maxDelayMs', 'jitter', 'delaysMs'] as const;
/** The broker parts' keys; their content is printed as built. */
const BROKERS = BROKER_SECTIONS.map((s) => s.key);

/** Key order of each IR node; `opaque` keys (user data: schemas, examples; the broker parts) print as they are. */
const TOPOLOGY_SHAPE: Shape = {
  keys: [
    'irVersion',
    'name',
    'version',
    'sourceFile',
    'sourceHash',
    'schemas',
    'events',
    'services',
    'consumers',
    ...BROKERS,
  ],
  nested: {
    schemas: { keys: ['name', 'schema', 'origin', 'loc'], opaque: ['schema'], nested: { loc: LOC } },
    events: {
      keys: [
        'name',
        'description',
        'version',
        'key',
        'payload',
        'refs',
        'examples',
        'compatibility',
        'contentMode',
        'producers',
        'consumers',
        ...BROKERS,
        'loc',
      ],
      opaque: ['payload', 'examples', ...BROKERS],
      nested: { loc: LOC },
    },
    services: { keys: ['name', 'description', 'produces', 'consumers', 'loc'], nested: { loc: LOC } },
    consumers: {
      keys: [
        'id',
        'service',
        'handler',
        'events',
        'retry',
        'deadLetter',
        'idempotency',
        'concurrency',
        ...BROKERS,
        'loc',
      ],
      opaque: BROKERS,
      nested: { retry: RETRY, idempotency: ['enabled', 'key', 'windowMs'], loc: LOC },
    },
  },
  opaque: BROKERS,
};

export function emitTopology(ctx: EmitContext, ir: TopologyIR): GeneratedFile {
  const data = order(ir, TOPOLOGY_SHAPE);
  const w = new CodeWriter();
  w.raw(codeBanner(ctx));
  w.line(`import type { TopologyIR } from ${quote(ctx.runtimeImport)};`);
  w.line();
  w.doc(`The \`${ir.name}\` topology as data (the IR), for \`createRuntime({ topology })\`.`);
  w.line(
    `export const topology: TopologyIR = ${printLiteral(data, 0, 'export const topology: TopologyIR = '.length)};`,
  );
  return { path: 'topology.ts', contents: w.toString() };
}

function order(value: unknown, shape: Shape | undefined): unknown {
  if (Array.isArray(value)) return value.map((v) => order(v, shape));
  if (!shape || value === null || typeof value !== 'object') return value;
  const spec = Array.isArray(shape)
    ? { keys: shape as readonly string[] }
    : (shape as Exclude<Shape, readonly string[]>);
  const record = value as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  const known = new Set(spec.keys);
  const keys = [
    ...spec.keys.filter((k) => k in record),
    ...Object.keys(record)
      .filter((k) => !known.has(k))
      .sort(),
  ];
  for (const key of keys) {
    const v = record[key];
    out[key] = spec.opaque?.includes(key) ? v : order(v, spec.nested?.[key]);
  }
  return out;
}
