// Invariant checks for the controller's pure modules. A broken invariant is a bug, never bad input: it throws
// ControllerInvariantError (a crash, and a failing seed in the simulator), while bad input is a RaftlineError.

export class ControllerInvariantError extends Error {
  constructor(message: string) {
    super(`controller invariant broken: ${message}`);
    this.name = 'ControllerInvariantError';
  }
}

export function invariant(condition: boolean, message: string | (() => string)): asserts condition {
  if (!condition) throw new ControllerInvariantError(typeof message === 'string' ? message : message());
}

/** True when `xs` holds no value twice. */
export function isDistinct(xs: readonly number[]): boolean {
  return new Set(xs).size === xs.length;
}

/** True when every element of `sub` is in `sup`. */
export function isSubset(sub: readonly number[], sup: readonly number[]): boolean {
  const s = new Set(sup);
  return sub.every((x) => s.has(x));
}

/** True when `a` and `b` share no element. */
export function isDisjoint(a: readonly number[], b: readonly number[]): boolean {
  const s = new Set(a);
  return b.every((x) => !s.has(x));
}

/** Same members, ignoring order. */
export function sameMembers(a: readonly number[], b: readonly number[]): boolean {
  return a.length === b.length && isSubset(a, b) && isDistinct(a) && isDistinct(b);
}
