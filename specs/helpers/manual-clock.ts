// A Clock for specs that moves only when told to: timers fire in (deadline, order set) when `advance` passes them.
import type { Clock, TimerHandle } from '../../src/runtime/clock.js';

export interface ManualClock extends Clock {
  advance(ms: number): void;
  pendingTimers(): number;
}

export function createManualClock(startMs = 1_700_000_000_000): ManualClock {
  let nowMs = 0;
  let sequence = 0;
  const timers = new Map<number, { at: number; seq: number; fn: () => void }>();
  return {
    now: () => startMs + nowMs,
    monotonicMs: () => nowMs,
    setTimeout(fn, delayMs): TimerHandle {
      const seq = ++sequence;
      timers.set(seq, { at: nowMs + Math.max(0, delayMs), seq, fn });
      return seq;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      const target = nowMs + ms;
      for (;;) {
        const due = [...timers.values()].filter((t) => t.at <= target).sort((a, b) => a.at - b.at || a.seq - b.seq)[0];
        if (due === undefined) break;
        timers.delete(due.seq);
        nowMs = due.at;
        due.fn();
      }
      nowMs = target;
    },
    pendingTimers: () => timers.size,
  };
}
