/**
 * Loggers for the pluggable {@link Logger} interface: JSON lines on stderr by default, a pretty
 * one-line format for demos, and a silent one. Any object with the four methods works too (pino,
 * winston, console).
 */
import type { Logger } from './api.js';
import { RUNTIME_DEFAULTS } from './defaults.js';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

const RANK: Record<LogLevel, number> = { debug: 10, info: 20, warn: 30, error: 40, silent: 100 };
const LEVEL = Symbol.for('eventform.logLevel');

/** A logger that knows its level, so hot paths can skip building fields for disabled levels. */
export interface LeveledLogger extends Logger {
  readonly level: LogLevel;
}

export function isLogLevel(value: unknown): value is LogLevel {
  return typeof value === 'string' && value in RANK;
}

/** The level named by `EVENTFORM_LOG`, or `info`. */
export function levelFromEnv(env: NodeJS.ProcessEnv = process.env): LogLevel {
  const raw = env[RUNTIME_DEFAULTS.logLevelEnv]?.trim().toLowerCase();
  return isLogLevel(raw) ? raw : RUNTIME_DEFAULTS.logLevel;
}

/** Whether `logger` would emit at `level`. Loggers of unknown make are assumed to emit everything. */
export function isLevelEnabled(logger: Logger, level: Exclude<LogLevel, 'silent'>): boolean {
  const own = (logger as unknown as Record<symbol, LogLevel | undefined>)[LEVEL];
  return own === undefined || RANK[level] >= RANK[own];
}

type Sink = (level: Exclude<LogLevel, 'silent'>, message: string, fields: Record<string, unknown> | undefined) => void;

function leveled(level: LogLevel, sink: Sink): LeveledLogger {
  const min = RANK[level];
  const logger = {
    level,
    debug: (m: string, f?: Record<string, unknown>) => void (min <= RANK.debug && sink('debug', m, f)),
    info: (m: string, f?: Record<string, unknown>) => void (min <= RANK.info && sink('info', m, f)),
    warn: (m: string, f?: Record<string, unknown>) => void (min <= RANK.warn && sink('warn', m, f)),
    error: (m: string, f?: Record<string, unknown>) => void (min <= RANK.error && sink('error', m, f)),
    [LEVEL]: level,
  };
  return logger;
}

function jsonReplacer(_key: string, value: unknown): unknown {
  if (value instanceof Error) return { name: value.name, message: value.message, stack: value.stack };
  if (typeof value === 'bigint') return value.toString();
  return value;
}

export interface JsonLoggerOptions {
  /** @default the level of `EVENTFORM_LOG`, else `info` */
  level?: LogLevel | undefined;
  /** Where lines go. @default process.stderr */
  write?: ((line: string) => void) | undefined;
  /** Fields added to every line. */
  fields?: Record<string, unknown> | undefined;
}

/**
 * One JSON object per line: `{"time","level","msg",...fields}`. Errors in fields are serialised
 * with name, message and stack.
 */
export function createJsonLogger(options: JsonLoggerOptions = {}): LeveledLogger {
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  const base = options.fields;
  return leveled(options.level ?? levelFromEnv(), (level, msg, fields) => {
    const record = { time: new Date().toISOString(), level, msg, ...base, ...fields };
    write(JSON.stringify(record, jsonReplacer) + '\n');
  });
}

const COLORS: Record<Exclude<LogLevel, 'silent'>, string> = {
  debug: '\x1b[90m',
  info: '\x1b[36m',
  warn: '\x1b[33m',
  error: '\x1b[31m',
};

function prettyValue(value: unknown): string {
  if (value instanceof Error) return JSON.stringify(value.message);
  if (typeof value === 'string') return /^[\w.:/@-]*$/.test(value) && value !== '' ? value : JSON.stringify(value);
  return JSON.stringify(value, jsonReplacer) ?? String(value);
}

export interface PrettyLoggerOptions {
  /** @default the level of `EVENTFORM_LOG`, else `info` */
  level?: LogLevel | undefined;
  /** @default process.stderr */
  write?: ((line: string) => void) | undefined;
  /** ANSI colours. @default whether stderr is a TTY */
  color?: boolean | undefined;
}

/** Human-readable lines for demos: `12:00:01.234 INFO  event handled consumer=... eventType=...`. */
export function prettyLogger(options: PrettyLoggerOptions = {}): LeveledLogger {
  const write = options.write ?? ((line: string) => void process.stderr.write(line));
  const color = options.color ?? Boolean(process.stderr.isTTY);
  return leveled(options.level ?? levelFromEnv(), (level, msg, fields) => {
    const time = new Date().toISOString().slice(11, 23);
    const tag = level.toUpperCase().padEnd(5);
    let line = `${time} ${color ? COLORS[level] + tag + '\x1b[0m' : tag} ${msg}`;
    if (fields) for (const [k, v] of Object.entries(fields)) if (v !== undefined) line += ` ${k}=${prettyValue(v)}`;
    write(line + '\n');
  });
}

/** Discards everything. */
export const silentLogger: LeveledLogger = leveled('silent', () => {});

/** A logger that adds `fields` to every line of `logger`, keeping its level. */
export function childLogger(logger: Logger, fields: Record<string, unknown>): Logger {
  const child = {
    debug: (m: string, f?: Record<string, unknown>) => logger.debug(m, f ? { ...fields, ...f } : fields),
    info: (m: string, f?: Record<string, unknown>) => logger.info(m, f ? { ...fields, ...f } : fields),
    warn: (m: string, f?: Record<string, unknown>) => logger.warn(m, f ? { ...fields, ...f } : fields),
    error: (m: string, f?: Record<string, unknown>) => logger.error(m, f ? { ...fields, ...f } : fields),
    [LEVEL]: (logger as unknown as Record<symbol, LogLevel | undefined>)[LEVEL],
  };
  return child;
}
