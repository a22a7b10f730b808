// The run's trace: one NDJSON line per event (virtual time, node, actor, event, details), hashed incrementally.
// Invariant: the hash covers every recorded line in order, whether or not lines are kept or written anywhere, so
// two runs with equal hashes recorded byte-identical event sequences.
import { createHash, type Hash } from 'node:crypto';

export interface TraceEvent {
  /** Virtual ms since the start of the run. */
  t: number;
  /** Sequence number of the event in the run (stable id). */
  i: number;
  /** Node id, or '-' for the simulator itself. */
  node: string;
  /** Event name, dot-namespaced: 'net.send', 'net.deliver', 'net.drop', 'fault.crash', 'log.info', ... */
  ev: string;
  /** Actor id when the event comes from an actor's logger. */
  actor?: string;
  [field: string]: unknown;
}

/** Receives every line as it is recorded (a file, an in-memory buffer for replay comparison). */
export type TraceSink = (line: string) => void;

export class Trace {
  private readonly hash: Hash = createHash('sha256');
  private count = 0;
  private readonly listeners: Array<(event: TraceEvent) => void> = [];

  constructor(
    private readonly nowMs: () => number,
    private readonly sink: TraceSink | null = null,
  ) {}

  /** Events recorded so far. */
  size(): number {
    return this.count;
  }

  /** Calls `fn` with every event after it is hashed (checkers watch the run this way). */
  subscribe(fn: (event: TraceEvent) => void): void {
    this.listeners.push(fn);
  }

  record(node: string, ev: string, fields?: Record<string, unknown>, actor?: string): void {
    const event: TraceEvent = { t: this.nowMs(), i: this.count++, node, ev };
    if (actor !== undefined) event.actor = actor;
    if (fields !== undefined) Object.assign(event, fields, { t: event.t, i: event.i, node, ev });
    const line = JSON.stringify(event, jsonSafe);
    this.hash.update(line);
    this.hash.update('\n');
    if (this.sink !== null) this.sink(line);
    for (const fn of this.listeners) fn(event);
  }

  /** Hex sha256 of every line so far; reading it does not end the trace. */
  digest(): string {
    return this.hash.copy().digest('hex');
  }
}

/** Makes values JSON can't express (bigint, byte arrays, errors) into stable, readable forms. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return { bytes: value.length };
  if (value instanceof Error) return { error: value.name, message: value.message };
  return value;
}
