/** Name rules of the format: the case each kind of name must be in, and related heuristics. */

export const KEBAB = /^[a-z][a-z0-9]*(-[a-z0-9]+)*$/;
export const PASCAL = /^[A-Z][A-Za-z0-9]*$/;
export const CAMEL = /^[a-z][A-Za-z0-9]*$/;

/** `order-service` → `OrderService`; `order_line.v2` → `OrderLineV2`. */
export function pascalCase(text: string): string {
  return text
    .split(/[^A-Za-z0-9]+/)
    .filter(Boolean)
    .map((w) => w.charAt(0).toUpperCase() + w.slice(1))
    .join('');
}

/** `order-service` → `orderService`. */
export function camelCase(text: string): string {
  const p = pascalCase(text);
  return p.charAt(0).toLowerCase() + p.slice(1);
}

/** A suggestion in the right case, or undefined when the input has no letters. */
export function toKebab(text: string): string {
  return text
    .replace(/([a-z0-9])([A-Z])/g, '$1-$2')
    .replace(/[^A-Za-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .toLowerCase();
}

/** The last PascalCase word: `OrderShipped` → `Shipped`. */
function lastWord(name: string): string {
  const words = name.match(/[A-Z][a-z0-9]*|[0-9]+/g);
  return words?.[words.length - 1] ?? name;
}

const IRREGULAR_PAST = new Set(
  `Sent Paid Built Made Held Sold Done Begun Written Taken Given Known Shown Lost Found Left Kept
  Set Put Cut Read Run Won Drawn Chosen Frozen Spent Bought Brought Thought Caught Sought Taught
  Fought Met Led Fed Bound Hidden Ridden Risen Broken Spoken Stolen Forgotten Gotten Torn Worn
  Sworn Born Shaken Struck Stuck Hung Sunk Shrunk Withdrawn Overdrawn Undone Rebuilt Resent Reset
  Upheld Dealt Felt Heard Meant Said Told Won Split Spread Shut Quit Hit Let Bid Cast Cost Hurt
  Burst Sped Slid Spun Wound Ground Fled Forbidden Forgiven Grown Thrown Blown Flown Known Seen
  Eaten Fallen Beaten Bitten Driven Gone Proven Sewn Shown Sown Woken Redone Rewritten Overridden
  Overtaken Undertaken Mistaken Misread Mislaid Laid Paid Prepaid Repaid Overpaid Underpaid
  Rerun Rebound Resold Retold Outbid Upset Offset Preset Inset Onboarded Lit Sat Stood Understood
  Withheld Taught Sought Became Come Overcome Begun Sung Rung Swum Drunk Stung Slung Spat`.split(/\s+/),
);

/** Heuristic: the last word ends in `ed` or is a known irregular past participle. */
export function looksPastTense(name: string): boolean {
  const w = lastWord(name);
  return /ed$/.test(w) || IRREGULAR_PAST.has(w);
}

/**
 * Global and utility type names a generated `type X = ...` would shadow. The generator's naming
 * module escapes these, so the validator only warns.
 */
export const TS_GLOBAL_TYPES = new Set(
  `Record Promise Array Date Error Map Set Object String Number Boolean Symbol Function Partial
  Required Readonly Pick Omit Exclude Extract NonNullable ReturnType Parameters InstanceType Awaited
  Uppercase Lowercase Capitalize Uncapitalize JSON Math RegExp BigInt Iterable Iterator WeakMap
  WeakSet ReadonlyArray ArrayLike PromiseLike Uint8Array Buffer Intl Reflect Proxy Infinity NaN
  Event Request Response Headers URL Blob File`.split(/\s+/),
);

/** Handler names that are JS keywords or inherited Object members (risky as plain-object keys). */
export const RISKY_MEMBER_NAMES = new Set(
  `break case catch class const continue debugger default delete do else enum export extends false
  finally for function if import in instanceof new null return super switch this throw true try
  typeof var void while with yield let static implements interface package private protected
  public await constructor toString valueOf hasOwnProperty isPrototypeOf propertyIsEnumerable
  toLocaleString`.split(/\s+/),
);
