/**
 * What a broker package puts into `eventform generate`'s output: `provisioning/<broker>.json` (its
 * resources as data, reviewed in pull requests) and its section of `provisioning/PLAN.md`. Each
 * package listed in `BROKER_PACKAGES` exports `provisioningDocument` from its `/resources` entry
 * point (pure, no client loaded); the generator finds it there, so a new broker adds its document
 * without a change to the generator. The Markdown helpers come from the generator, so every section
 * escapes table cells the same way.
 */
import type { TopologyIR } from './ir.js';

/** Markdown pieces a broker section is built from; the generator supplies them. */
export interface PlanMarkdown {
  /** A table (or `(none)` without rows); cells are used as given: build them with the helpers below. */
  table(header: string[], rows: string[][]): string[];
  /** A resource name as inline code (`(default exchange)` for the empty name). */
  code(value: string): string;
  /** Any value as an escaped table cell. */
  cell(value: unknown): string;
  /** `key=value` pairs as inline code, or empty. */
  args(record: Readonly<Record<string, string | number | boolean>>): string;
}

export interface ProvisioningDocument {
  /** The file under `provisioning/`, e.g. `nats.json`. */
  file: string;
  /** The file's content (the generator adds the banner as `$comment` and writes it as JSON). */
  data: Record<string, unknown>;
  /** The broker's section of PLAN.md, from its `## Title` heading on. */
  plan: string[];
}

/** The function a broker package's `/resources` entry point exports as `provisioningDocument`. */
export type ProvisioningDocumentFn = (ir: TopologyIR, md: PlanMarkdown) => ProvisioningDocument;

/**
 * `record` with `order`'s keys first (where present), then its other keys sorted: a provisioning
 * file reads name first, and a field added to a descriptor later is never dropped.
 */
export function orderedRecord(record: object, order: readonly string[]): Record<string, unknown> {
  const source = record as Record<string, unknown>;
  const out: Record<string, unknown> = {};
  for (const key of order) if (Object.hasOwn(source, key)) out[key] = source[key];
  for (const key of Object.keys(source).sort()) if (!Object.hasOwn(out, key)) out[key] = source[key];
  return out;
}
