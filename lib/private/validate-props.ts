/**
 * Collects every problem in a construct's props and throws them together, so a user fixes
 * them in one pass (Solutions Constructs' habit).
 */
export function throwIfInvalid(construct: string, problems: readonly (string | false | undefined)[]): void {
  const found = problems.filter((p): p is string => typeof p === 'string');
  if (found.length) {
    throw new Error(`Invalid ${construct} props:\n${found.map((p) => `  - ${p}`).join('\n')}`);
  }
}

/** True when `value` is undefined or an integer within [min, max]. */
export function intInRange(value: number | undefined, min: number, max: number): boolean {
  return value === undefined || (Number.isInteger(value) && value >= min && value <= max);
}
