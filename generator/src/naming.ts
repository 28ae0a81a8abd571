/**
 * The generator's one naming module: every identifier the generated code declares is derived
 * here from a topology name, and every piece of topology text placed in generated code goes
 * through the escapers here.
 *
 * Rules, in order:
 * 1. Case conversion: events and schemas keep their PascalCase name as a type name; services
 *    become a PascalCase base (`order-service` → `OrderService`) from which every per-service
 *    identifier is built; producer methods are the camelCased event name. A definition kept in
 *    a schema file (shared schema `Payments.Money`, from `$defs: { Money }` of the file named
 *    `Payments`) is named after the definition (`Money`), or after file and definition
 *    (`PaymentsMoney`) when another event or schema wants that name too.
 * 2. A type name that would shadow a JavaScript/TypeScript global, a TS utility type or an
 *    identifier the generated code itself declares or imports (`Record`, `Promise`, `EventMap`,
 *    `Runtime`, ...) is renamed deterministically — events get `Event` appended, schemas
 *    `Schema` — and the rename is recorded so the emitters can say so in a comment.
 * 3. Whatever still collides after that (two topology names mapping to one identifier) cannot
 *    be made safe by a rule the user could predict, so it is a {@link GenerateError} carrying
 *    the source location of both parties.
 */
import type { SourceLocation, TopologyIR } from '@eventform/runtime';
import type { Diagnostic } from './spec/index.js';
import { camelCase, pascalCase } from './spec/naming.js';

/** A topology the generator cannot turn into code that compiles. Carries a stable code and the IR location. */
export class GenerateError extends Error {
  override readonly name = 'GenerateError';
  readonly code: string;
  readonly loc: SourceLocation | undefined;
  readonly hint: string | undefined;

  constructor(code: string, message: string, loc?: SourceLocation, hint?: string) {
    super(loc ? `${loc.file}:${loc.line}:${loc.col}: ${message}` : message);
    this.code = code;
    this.loc = loc;
    this.hint = hint;
  }
}

/** Stable codes of generator errors (the loader's codes live in spec/codes.ts). */
export const GENERATE_CODES = {
  /** A topology name cannot be turned into a safe identifier. */
  unsafeName: 'EF8001',
  /** Two topology names map to the same generated identifier. */
  collision: 'EF8002',
  /** The output directory is not empty and carries no eventform marker. */
  foreignOutput: 'EF8003',
  /** A schema construct the type or validator compiler rejected. */
  schema: 'EF8004',
  /** A symbolic link where the writer would write: it never writes through one. */
  symlink: 'EF8005',
} as const;

/** A {@link GenerateError} as a loader-style diagnostic (located when the error has a location). */
export function generateErrorDiagnostic(err: GenerateError): Diagnostic {
  const loc = err.loc ?? { file: '', line: 0, col: 0 };
  const message = err.loc && err.message.startsWith(`${loc.file}:`) ? err.message.replace(/^[^ ]+: /, '') : err.message;
  const diagnostic: Diagnostic = {
    code: err.code,
    severity: 'error',
    message,
    file: loc.file,
    line: loc.line,
    col: loc.col,
  };
  if (err.hint) diagnostic.hint = err.hint;
  return diagnostic;
}

/**
 * The naming problems of a valid IR, as diagnostics, so `validate` reports what `generate` would
 * refuse: a topology that validates always generates code that compiles.
 */
export function nameDiagnostics(ir: TopologyIR): Diagnostic[] {
  try {
    assignNames(ir);
    return [];
  } catch (err) {
    if (err instanceof GenerateError) return [generateErrorDiagnostic(err)];
    throw err;
  }
}

// ---------------------------------------------------------------------------------------------
// Case conversion

// The format's case rules and conversions live with the validator; the generator uses the same ones.
export { camelCase, pascalCase } from './spec/naming.js';

// ---------------------------------------------------------------------------------------------
// Reserved names

/** ECMAScript reserved words and TypeScript's reserved type names: never usable as a binding. */
export const RESERVED_WORDS: ReadonlySet<string> = new Set(
  `break case catch class const continue debugger default delete do else enum export extends false finally
  for function if import in instanceof new null return super switch this throw true try typeof var void
  while with yield let static implements interface package private protected public await
  any unknown never string number boolean object symbol bigint undefined type as satisfies keyof
  readonly infer is asserts declare namespace module abstract override accessor global require arguments eval`.split(
    /\s+/,
  ),
);

/**
 * Global values and types of the ES2023 library, TypeScript's utility types, and the Node/DOM
 * globals a service module commonly touches. A generated declaration with one of these names
 * would shadow the global inside the generated module and in every module importing it.
 */
export const GLOBAL_NAMES: ReadonlySet<string> = new Set(
  `AggregateError Array ArrayBuffer ArrayBufferLike ArrayBufferView ArrayLike AsyncDisposable AsyncDisposableStack
  AsyncGenerator AsyncGeneratorFunction AsyncIterable AsyncIterableIterator AsyncIterator Atomics Awaited BigInt
  BigInt64Array BigUint64Array Boolean CallableFunction Capitalize ClassDecorator ConstructorParameters DataView
  Date Disposable DisposableStack Error EvalError Exclude Extract FinalizationRegistry Float32Array Float64Array
  Function Generator GeneratorFunction IArguments Infinity InstanceType Int16Array Int32Array Int8Array Intl
  Iterable IterableIterator Iterator IteratorResult IteratorReturnResult IteratorYieldResult JSON Lowercase Map
  Math MethodDecorator NaN NewableFunction NoInfer NonNullable Number Object Omit OmitThisParameter
  ParameterDecorator Parameters Partial Pick Promise PromiseLike PropertyDecorator PropertyDescriptor
  PropertyDescriptorMap PropertyKey Proxy RangeError Readonly ReadonlyArray ReadonlyMap ReadonlySet Record
  ReferenceError Reflect RegExp Required ReturnType Set SharedArrayBuffer String SuppressedError Symbol SyntaxError
  TemplateStringsArray ThisParameterType ThisType TypeError TypedPropertyDescriptor URIError Uint16Array
  Uint32Array Uint8Array Uint8ClampedArray Uncapitalize Uppercase WeakMap WeakRef WeakSet
  AbortController AbortSignal Blob BroadcastChannel Buffer Console Crypto CryptoKey CustomEvent DOMException
  Element Event EventTarget File FormData Headers MessageChannel MessageEvent MessagePort NodeJS Performance
  ReadableStream Request Response TextDecoder TextEncoder TransformStream URL URLSearchParams WebAssembly
  WebSocket Worker WritableStream`.split(/\s+/),
);

/**
 * Identifiers the generated files declare or import regardless of the topology. A topology name
 * equal to one of them is renamed; a per-service identifier equal to one is an error.
 */
export const FIXED_GENERATED_NAMES: ReadonlySet<string> = new Set([
  // declared by generated code
  'EventMap',
  'EventName',
  'EventNames',
  'EventEnvelopeOf',
  'ServiceName',
  'ServiceNames',
  'ConsumerId',
  'topology',
  'validators',
  'createValidators',
  // imported from the runtime
  'Runtime',
  'RuntimeOptions',
  'EventEnvelope',
  'HandlerContext',
  'PublishOptions',
  'ValidatorMap',
  'ValidateFn',
  'TopologyIR',
  'createRuntime',
]);

/** Members of every generated producer object, and Object.prototype members: never a producer method name. */
const PRODUCER_MEMBERS: ReadonlySet<string> = new Set([
  'publish',
  'service',
  'then',
  'constructor',
  'toString',
  'toLocaleString',
  'valueOf',
  'hasOwnProperty',
  'isPrototypeOf',
  'propertyIsEnumerable',
  '__proto__',
]);

const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

/** True when `name` can be used as a binding or type name as it is. */
export function isSafeIdentifier(name: string): boolean {
  return IDENTIFIER.test(name) && !RESERVED_WORDS.has(name);
}

// ---------------------------------------------------------------------------------------------
// Escaping

// eslint-disable-next-line no-control-regex -- control characters are what needs escaping
const NEEDS_ESCAPE_OR_QUOTE = /['"\\\u0000-\u001f\u007f\u2028\u2029]/;

/**
 * A TS/JS string literal for `text`: single-quoted, or double-quoted when that needs fewer
 * escapes (prettier's rule, so generated code reads like formatted code).
 */
export function quote(text: string): string {
  // Most text needs no escape and no choice of quote; the loop below builds it a character at a time.
  if (!NEEDS_ESCAPE_OR_QUOTE.test(text)) return `'${text}'`;
  const singles = text.split("'").length - 1;
  const doubles = text.split('"').length - 1;
  const q = singles > doubles ? '"' : "'";
  let out = q;
  for (const ch of text) {
    switch (ch) {
      case '\\':
        out += '\\\\';
        break;
      case q:
        out += `\\${q}`;
        break;
      case '\n':
        out += '\\n';
        break;
      case '\r':
        out += '\\r';
        break;
      case '\t':
        out += '\\t';
        break;
      case '\u2028':
        out += '\\u2028';
        break;
      case '\u2029':
        out += '\\u2029';
        break;
      default: {
        const code = ch.codePointAt(0) as number;
        out += code < 0x20 || code === 0x7f ? `\\u${code.toString(16).padStart(4, '0')}` : ch;
      }
    }
  }
  return out + q;
}

/** A property key: the bare name when it is an identifier name (keywords allowed), else a quoted string. */
export function propertyKey(name: string): string {
  return IDENTIFIER.test(name) && name !== '__proto__' ? name : quote(name);
}

/** Property access on `object`: `object.name` or `object['na-me']`. */
export function memberAccess(object: string, name: string): string {
  return IDENTIFIER.test(name) ? `${object}.${name}` : `${object}[${quote(name)}]`;
}

/**
 * Text made safe inside a `/* ... *\/` comment: `*\/` cannot close it, control characters
 * other than newline are dropped, CRLF becomes LF and trailing whitespace goes.
 */
export function escapeComment(text: string): string {
  return (
    text
      .replace(/\r\n?/g, '\n')
      .replace(/\*\//g, '*\\/')
      // eslint-disable-next-line no-control-regex -- stripping control characters is the point
      .replace(/[\u0000-\u0008\u000b-\u001f\u007f\u2028\u2029]/g, '')
      .split('\n')
      .map((line) => line.trimEnd())
      .join('\n')
      .trim()
  );
}

/** Text made safe on one `//` comment line. */
export function escapeLineComment(text: string): string {
  return escapeComment(text).replace(/\s*\n\s*/g, ' ');
}

/** Text made safe inside a Markdown table cell. */
export function escapeMarkdownCell(text: string): string {
  return text.replace(/\r?\n/g, ' ').replace(/\\/g, '\\\\').replace(/\|/g, '\\|').replace(/</g, '&lt;');
}

// ---------------------------------------------------------------------------------------------
// Name assignment

export interface Rename {
  kind: 'event' | 'schema';
  /** The topology name. */
  from: string;
  /** The identifier used instead. */
  to: string;
  /** Why, in words, for the comment on the declaration. */
  reason: string;
}

/** Every identifier derived from one service. */
export interface ServiceNames {
  /** kebab-case service name from the topology. */
  service: string;
  /** PascalCase base: `OrderService`. */
  base: string;
  /** Union of produced event names: `OrderServiceProduces`. */
  produces: string;
  /** Producer interface: `OrderServiceProducer`. */
  producer: string;
  /** Producer factory: `createOrderServiceProducer`. */
  createProducer: string;
  /** Handler contract: `OrderServiceHandlers`. */
  handlers: string;
  /** Typed handler context: `OrderServiceContext`. */
  context: string;
  /** Consumer id constants: `OrderServiceConsumerIds`. */
  consumerIds: string;
  /** `registerOrderService`. */
  register: string;
  /** `startOrderService`. */
  start: string;
  /** Per handler: the envelope union type it receives, `OrderServiceCancelOrderEvent`. */
  handlerEvent: ReadonlyMap<string, string>;
}

/** The identifiers of one topology; built once by {@link assignNames}, read by every emitter. */
export interface Names {
  /** TS type of each event payload, by event name. */
  eventType: ReadonlyMap<string, string>;
  /** Producer method of each event, by event name: `orderCreated`. */
  eventMethod: ReadonlyMap<string, string>;
  /** TS type of each shared schema, by schema name. */
  schemaType: ReadonlyMap<string, string>;
  /** Per service, by service name. */
  services: ReadonlyMap<string, ServiceNames>;
  /** `createShopRuntime`. */
  runtimeFactory: string;
  /** `ShopRuntimeOptions`. */
  runtimeOptions: string;
  /** Renames applied by rule 2, for comments. */
  renames: Rename[];
}

interface Claim {
  what: string;
  loc: SourceLocation | undefined;
}

/**
 * Assign every identifier of the generated code. Deterministic: depends only on the IR.
 * @throws GenerateError when a name cannot be made safe or two names collide.
 */
export function assignNames(ir: TopologyIR): Names {
  const claims = new Map<string, Claim>();
  const renames: Rename[] = [];

  const claim = (identifier: string, what: string, loc: SourceLocation | undefined): void => {
    if (!isSafeIdentifier(identifier)) {
      throw new GenerateError(
        GENERATE_CODES.unsafeName,
        `${what} would be generated as \`${identifier}\`, which is not a valid identifier`,
        loc,
        'use only letters and digits in topology names',
      );
    }
    const previous = claims.get(identifier);
    if (previous) {
      const where = previous.loc ? ` (${previous.loc.file}:${previous.loc.line}:${previous.loc.col})` : '';
      throw new GenerateError(
        GENERATE_CODES.collision,
        `${what} and ${previous.what}${where} would both be generated as \`${identifier}\``,
        loc,
        'rename one of them in the topology',
      );
    }
    claims.set(identifier, { what, loc });
  };

  // Only globals and fixed names trigger a rename; a clash between two topology names is an
  // error (renaming one of them would silently move a name the user wrote).
  const isTaken = (identifier: string): boolean =>
    GLOBAL_NAMES.has(identifier) || FIXED_GENERATED_NAMES.has(identifier);

  for (const fixed of FIXED_GENERATED_NAMES) claims.set(fixed, { what: 'a name eventform generates', loc: undefined });

  // Events first: their names are the API people type most (`EventMap['OrderCreated']`).
  const eventType = new Map<string, string>();
  const eventMethod = new Map<string, string>();
  for (const event of ir.events) {
    let identifier = pascalCase(event.name);
    if (isTaken(identifier)) {
      const reason = reasonFor(identifier);
      identifier = `${identifier}Event`;
      renames.push({ kind: 'event', from: event.name, to: identifier, reason });
    } else if (identifier !== event.name) {
      renames.push({ kind: 'event', from: event.name, to: identifier, reason: 'not a PascalCase identifier' });
    }
    claim(identifier, `event ${event.name}`, event.loc);
    eventType.set(event.name, identifier);
    let method = camelCase(event.name);
    if (PRODUCER_MEMBERS.has(method)) method = `${method}Event`;
    eventMethod.set(event.name, method);
  }

  const schemaType = new Map<string, string>();
  // A definition kept in a schema file is the shared schema `<FileName>.<definition>` (see
  // spec/schema-refs.ts). It is named after the definition alone (`Money`) when nothing else of
  // the topology wants that name, else qualified by its file's name (`PaymentsMoney`): another
  // team's file cannot be renamed to make room, and the rule depends on the names alone.
  const wanted = new Map<string, number>();
  const want = (identifier: string): void => void wanted.set(identifier, (wanted.get(identifier) ?? 0) + 1);
  for (const event of ir.events) want(pascalCase(event.name));
  for (const schema of ir.schemas) want(pascalCase(definitionOf(schema.name)?.definition ?? schema.name));
  for (const schema of ir.schemas) {
    const definition = definitionOf(schema.name);
    const written = definition?.definition ?? schema.name;
    let identifier = pascalCase(written);
    let reason = identifier === written ? undefined : 'not a PascalCase identifier';
    if (definition && ((wanted.get(identifier) ?? 0) > 1 || isTaken(identifier))) {
      reason = isTaken(identifier)
        ? `${reasonFor(identifier)}; qualified by its file's name`
        : `another schema or event of the topology is also named \`${identifier}\`; qualified by its file's name`;
      identifier = `${pascalCase(definition.file)}${identifier}`;
    }
    if (isTaken(identifier)) {
      reason = reasonFor(identifier);
      identifier = `${identifier}Schema`;
    }
    if (reason !== undefined) renames.push({ kind: 'schema', from: schema.name, to: identifier, reason });
    claim(identifier, `schema ${schema.name}`, schema.loc);
    schemaType.set(schema.name, identifier);
  }

  const consumersById = new Map(ir.consumers.map((c) => [c.id, c]));
  const services = new Map<string, ServiceNames>();
  for (const service of ir.services) {
    const base = pascalCase(service.name);
    if (!base || !/^[A-Z]/.test(base)) {
      throw new GenerateError(
        GENERATE_CODES.unsafeName,
        `service ${service.name} does not yield an identifier`,
        service.loc,
        'service names are kebab-case and start with a letter',
      );
    }
    const what = (suffix: string): string => `the ${suffix} of service ${service.name}`;
    const names: ServiceNames = {
      service: service.name,
      base,
      produces: `${base}Produces`,
      producer: `${base}Producer`,
      createProducer: `create${base}Producer`,
      handlers: `${base}Handlers`,
      context: `${base}Context`,
      consumerIds: `${base}ConsumerIds`,
      register: `register${base}`,
      start: `start${base}`,
      handlerEvent: new Map(),
    };
    claim(names.produces, what('produced-events union'), service.loc);
    claim(names.producer, what('producer interface'), service.loc);
    claim(names.createProducer, what('producer factory'), service.loc);
    claim(names.handlers, what('handler contract'), service.loc);
    claim(names.context, what('handler context'), service.loc);
    claim(names.consumerIds, what('consumer id constants'), service.loc);
    claim(names.register, what('register function'), service.loc);
    claim(names.start, what('start function'), service.loc);
    const handlerEvent = names.handlerEvent as Map<string, string>;
    for (const id of service.consumers) {
      const consumer = consumersById.get(id);
      if (!consumer) continue;
      if (consumer.handler === '__proto__' || !/^[A-Za-z_$][A-Za-z0-9_$]*$/.test(consumer.handler)) {
        throw new GenerateError(
          GENERATE_CODES.unsafeName,
          `handler ${consumer.id} cannot be a property name of the handler object`,
          consumer.loc,
          'handler names are camelCase',
        );
      }
      const identifier = `${base}${pascalCase(consumer.handler)}Event`;
      claim(identifier, `the envelope type of handler ${consumer.id}`, consumer.loc);
      handlerEvent.set(consumer.handler, identifier);
    }
    services.set(service.name, names);
  }

  const runtimeFactory = `create${pascalCase(ir.name)}Runtime`;
  claim(runtimeFactory, `the runtime factory of topology ${ir.name}`, undefined);
  const runtimeOptions = `${pascalCase(ir.name)}RuntimeOptions`;
  claim(runtimeOptions, `the runtime options type of topology ${ir.name}`, undefined);

  return { eventType, eventMethod, schemaType, services, runtimeFactory, runtimeOptions, renames };
}

/**
 * The file and definition of a shared schema that is a definition kept in a schema file
 * (`Payments.Money`); undefined for other shared schemas, whose names are PascalCase.
 */
export function definitionOf(schemaName: string): { file: string; definition: string } | undefined {
  const dot = schemaName.indexOf('.');
  return dot < 0 ? undefined : { file: schemaName.slice(0, dot), definition: schemaName.slice(dot + 1) };
}

function reasonFor(identifier: string): string {
  if (GLOBAL_NAMES.has(identifier)) return `it would shadow the global \`${identifier}\``;
  return `\`${identifier}\` is a name eventform generates`;
}
