// Virtual time for a whole simulated run: one timer queue shared by every node, fired strictly in (deadline,
// insertion sequence) order, one timer at a time. Invariant: virtual time never goes backwards, and a timer never
// fires before its deadline nor after a timer with a smaller (deadline, sequence) key.
import type { Clock, TimerHandle } from '../../src/runtime/clock.js';

/** Who a timer belongs to: a simulated process. Its timers die with its incarnation and wait while it is paused. */
export interface TimerOwner {
  readonly nodeId: string;
  /** Bumped on every crash; timers set by an older incarnation never fire. */
  incarnation: number;
  /** Virtual time until which the process is stalled (stop-the-world); 0 when running. */
  pausedUntilMs: number;
  /** Offset of this process's wall clock from true virtual time (clock-skew fault). */
  skewMs: number;
}

export interface TimerEntry {
  deadlineMs: number;
  seq: number;
  readonly fn: () => void;
  readonly owner: TimerOwner | null;
  readonly incarnation: number;
  cancelled: boolean;
  /** True while the entry sits in the heap (a fired timer may still be "cleared" by its owner: a no-op). */
  queued: boolean;
}

/** Wall-clock reading (ms since the epoch) of virtual time 0: a fixed date, so traces do not depend on today. */
export const simEpochMs = Date.UTC(2025, 0, 1);

export class VirtualClock {
  private heap: TimerEntry[] = [];
  private nextSeq = 0;
  private currentMs = 0;
  private cancelledInHeap = 0;
  /** Timers fired so far (a cheap step counter for speed reports and bounds). */
  fired = 0;

  /** Virtual milliseconds since the start of the run. */
  nowMs(): number {
    return this.currentMs;
  }

  /** Live (not cancelled) timers waiting. */
  pending(): number {
    return this.heap.length - this.cancelledInHeap;
  }

  schedule(owner: TimerOwner | null, delayMs: number, fn: () => void): TimerEntry {
    const delay = Number.isFinite(delayMs) && delayMs > 0 ? delayMs : 0;
    const entry: TimerEntry = {
      deadlineMs: this.currentMs + delay,
      seq: this.nextSeq++,
      fn,
      owner,
      incarnation: owner === null ? 0 : owner.incarnation,
      cancelled: false,
      queued: false,
    };
    this.push(entry);
    return entry;
  }

  cancel(entry: TimerEntry): void {
    if (entry.cancelled) return;
    entry.cancelled = true;
    if (!entry.queued) return;
    this.cancelledInHeap++;
    // Lazy deletion keeps cancel O(1); compact when dead entries dominate so the heap stays bounded by live timers.
    if (this.cancelledInHeap > 1024 && this.cancelledInHeap * 2 > this.heap.length) this.compact();
  }

  /** The deadline of the next live timer, or undefined when none is left. */
  peekDeadlineMs(): number | undefined {
    this.dropCancelledTop();
    return this.heap[0]?.deadlineMs;
  }

  /**
   * Removes and returns the next timer that may fire now, advancing virtual time to its deadline. Timers of a
   * crashed incarnation are discarded; timers of a paused process are re-queued at the end of the pause (keeping
   * their relative order, since they come out of the heap in order and get fresh, increasing sequence numbers).
   */
  takeNext(limitMs: number): TimerEntry | undefined {
    for (;;) {
      this.dropCancelledTop();
      const top = this.heap[0];
      if (top === undefined || top.deadlineMs > limitMs) return undefined;
      this.pop();
      if (top.deadlineMs < this.currentMs) throw new Error(`virtual clock: timer ${top.seq} due at ${top.deadlineMs} < now ${this.currentMs}`);
      this.currentMs = top.deadlineMs;
      const owner = top.owner;
      if (owner !== null) {
        if (owner.incarnation !== top.incarnation) continue;
        if (owner.pausedUntilMs > this.currentMs) {
          top.deadlineMs = owner.pausedUntilMs;
          top.seq = this.nextSeq++;
          this.push(top);
          continue;
        }
      }
      this.fired++;
      return top;
    }
  }

  /** Moves time forward to `ms` with no timer firing (used when the queue is empty before a phase ends). */
  advanceTo(ms: number): void {
    if (ms < this.currentMs) throw new Error(`virtual clock: cannot go back from ${this.currentMs} to ${ms}`);
    const next = this.peekDeadlineMs();
    if (next !== undefined && next < ms) throw new Error(`virtual clock: advancing to ${ms} would skip a timer due at ${next}`);
    this.currentMs = ms;
  }

  /** A Clock port (also usable as xstate's `clock`) whose timers belong to `owner`. */
  viewFor(owner: TimerOwner): Clock {
    return {
      now: () => simEpochMs + this.currentMs + owner.skewMs,
      monotonicMs: () => this.currentMs,
      setTimeout: (fn: () => void, delayMs: number): TimerHandle => this.schedule(owner, delayMs, fn),
      clearTimeout: (handle: TimerHandle): void => {
        if (isTimerEntry(handle)) this.cancel(handle);
      },
    };
  }

  private dropCancelledTop(): void {
    while (this.heap.length > 0 && this.heap[0]!.cancelled) {
      this.pop();
      this.cancelledInHeap--;
    }
  }

  private compact(): void {
    for (const e of this.heap) if (e.cancelled) e.queued = false;
    this.heap = this.heap.filter((e) => !e.cancelled);
    this.cancelledInHeap = 0;
    for (let i = (this.heap.length >> 1) - 1; i >= 0; i--) this.siftDown(i);
  }

  private push(entry: TimerEntry): void {
    const h = this.heap;
    entry.queued = true;
    h.push(entry);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!less(h[i]!, h[parent]!)) break;
      [h[i], h[parent]] = [h[parent]!, h[i]!];
      i = parent;
    }
  }

  private pop(): void {
    const h = this.heap;
    h[0]!.queued = false;
    const last = h.pop()!;
    if (h.length === 0) return;
    h[0] = last;
    this.siftDown(0);
  }

  private siftDown(start: number): void {
    const h = this.heap;
    let i = start;
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < h.length && less(h[l]!, h[m]!)) m = l;
      if (r < h.length && less(h[r]!, h[m]!)) m = r;
      if (m === i) return;
      [h[i], h[m]] = [h[m]!, h[i]!];
      i = m;
    }
  }
}

function less(a: TimerEntry, b: TimerEntry): boolean {
  return a.deadlineMs < b.deadlineMs || (a.deadlineMs === b.deadlineMs && a.seq < b.seq);
}

function isTimerEntry(handle: unknown): handle is TimerEntry {
  return typeof handle === 'object' && handle !== null && 'seq' in handle && 'deadlineMs' in handle && 'cancelled' in handle;
}
