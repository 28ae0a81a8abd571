/**
 * Option objects laid over their defaults the way a caller means them: a property set to
 * `undefined` (`{ retries: maybeRetries }`) keeps the default, where an object spread would
 * replace it with `undefined`.
 */
export function withDefaults<T extends object>(
  defaults: T,
  options: { [K in keyof T]?: T[K] | undefined } | undefined,
): T {
  const out = { ...defaults };
  if (!options) return out;
  for (const key of Object.keys(options) as (keyof T & string)[]) {
    const value = options[key];
    if (value !== undefined && key !== '__proto__') out[key] = value as T[typeof key];
  }
  return out;
}
