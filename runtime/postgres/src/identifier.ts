/**
 * SQL identifiers taken from options (table names): validated, then quoted. Nothing else from an
 * option is ever spliced into SQL text; values go in as parameters.
 */

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]{0,62}$/;

export interface QualifiedName {
  /** The name as given, e.g. `eventform_outbox` or `app.eventform_outbox`. */
  name: string;
  /** Quoted for SQL: `"app"."eventform_outbox"`. */
  sql: string;
  /** The table's own name (without schema), unquoted: a base for index names. */
  last: string;
}

/** `[schema.]name` with letters, digits and `_`, else a `RangeError` naming the option's value. */
export function qualifiedName(name: string): QualifiedName {
  const parts = name.split('.');
  if (parts.length > 2 || !parts.every((p) => IDENTIFIER.test(p))) {
    throw new RangeError(`Invalid table name "${name}": use [schema.]name with letters, digits and _`);
  }
  return { name, sql: parts.map((p) => `"${p}"`).join('.'), last: parts[parts.length - 1]! };
}

/** An index name on `table`, quoted: its first 48 characters and `_suffix` (at most 14), within 63. */
export function indexName(table: QualifiedName, suffix: string): string {
  if (suffix.length > 14) throw new RangeError(`index suffix "${suffix}" is longer than 14 characters`);
  return `"${table.last.slice(0, 48)}_${suffix}"`;
}
