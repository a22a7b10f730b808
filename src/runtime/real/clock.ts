// The real Clock: wall time from Date.now, durations from performance.now, timers from the host's setTimeout.
// It keeps the port's promise that monotonicMs never goes backwards (performance.now is monotonic by spec).
import type { Clock, TimerHandle } from '../clock.js';

/** Largest delay Node's setTimeout honours; longer delays would silently fire after 1 ms. */
const timerDelayMsMax = 2_147_483_647;

function clampDelay(delayMs: number): number {
  if (!Number.isFinite(delayMs) || delayMs <= 0) return 0;
  return Math.min(delayMs, timerDelayMsMax);
}

/**
 * The process's real clock. Methods are plain functions (no `this`), so the object can be handed to xstate as
 * `createActor(machine, { clock: realClock })` and its methods may be passed around detached.
 */
export const realClock: Clock = {
  now: () => Date.now(),
  monotonicMs: () => performance.now(),
  setTimeout: (fn: () => void, delayMs: number): TimerHandle => setTimeout(fn, clampDelay(delayMs)),
  clearTimeout: (handle: TimerHandle): void => {
    clearTimeout(handle as ReturnType<typeof setTimeout> | undefined);
  },
};
