// The Clock port: the only way code under src/ reads time or schedules work. It is shaped so that it can be
// passed straight to xstate's `createActor(machine, { clock })`; the simulator's implementation is virtual time.

/** An opaque timer handle; only the clock that made it can cancel it. */
export type TimerHandle = unknown;

export interface Clock {
  /** Milliseconds since the Unix epoch (real) or since the start of the run plus a base (simulated). */
  now(): number;
  /** A monotonic millisecond reading for measuring durations; never goes backwards. */
  monotonicMs(): number;
  /** Calls `fn` once after `delayMs` (clamped to >= 0). Timers with equal deadlines fire in the order they were set. */
  setTimeout(fn: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** Repeats `fn` every `periodMs` until the returned function is called. Built on the port, so it is virtual in the simulator. */
export function every(clock: Clock, periodMs: number, fn: () => void): () => void {
  let handle: TimerHandle | undefined;
  let stopped = false;
  const tick = (): void => {
    if (stopped) return;
    handle = clock.setTimeout(tick, periodMs);
    fn();
  };
  handle = clock.setTimeout(tick, periodMs);
  return () => {
    stopped = true;
    if (handle !== undefined) clock.clearTimeout(handle);
  };
}

/** Resolves after `delayMs` on the given clock. */
export function sleep(clock: Clock, delayMs: number): Promise<void> {
  return new Promise((resolve) => {
    clock.setTimeout(resolve, delayMs);
  });
}
