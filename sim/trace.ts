// The run's trace: one NDJSON line per event (virtual time, node, actor, event, details), hashed incrementally.
// Invariant: the hash covers every recorded line in order, whether or not lines are kept or written anywhere, so
// two runs with equal hashes recorded byte-identical event sequences.
import { createHash, type Hash } from 'node:crypto';

export interface TraceEvent {
  /** Virtual ms since the start of the run. */
  t: number;
  /** Sequence number of the event in the run (stable id). */
  i: number;
  /** Node id ("n1"), or '-' for the simulator itself. */
  node: string;
  /** Event name, dot-namespaced: 'net.send', 'net.deliver', 'net.drop', 'fault.crash', 'log.info', ... */
  ev: string;
  /** Actor id when the event comes from an actor's logger. */
  actor: string | undefined;
  /** Event details; in the NDJSON line they follow the fixed keys at the top level. */
  data: Readonly<Record<string, unknown>> | undefined;
}

/** Receives every line as it is recorded (a file, an in-memory buffer for replay comparison). */
export type TraceSink = (line: string) => void;

/** Lines are hashed in chunks of about this many characters: one native call per chunk instead of two per line. */
const hashChunkChars = 64 * 1024;

export class Trace {
  private readonly hash: Hash = createHash('sha256');
  /** Lines (each with its newline) recorded but not yet fed to the hash; sha256 of the concatenation is the same. */
  private unhashed = '';
  private count = 0;
  /** JSON forms of node ids and event names, which repeat on every line. */
  private readonly quoted = new Map<string, string>();
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

  record(node: string, ev: string, data?: Record<string, unknown>, actor?: string): void {
    const t = this.nowMs();
    const i = this.count++;
    // Built by hand rather than by stringifying one merged object: this runs for every event of every run.
    let line = `{"t":${t},"i":${i},"node":${this.quote(node)},"ev":${this.quote(ev)}`;
    if (actor !== undefined) line += `,"actor":${this.quote(actor)}`;
    if (data !== undefined) {
      const body = stringifyData(data);
      line += body.length > 2 ? `,${body.slice(1)}` : '}';
    } else {
      line += '}';
    }
    this.unhashed += `${line}\n`;
    if (this.unhashed.length >= hashChunkChars) this.flushHash();
    if (this.sink !== null) this.sink(line);
    if (this.listeners.length > 0) {
      const event: TraceEvent = { t, i, node, ev, actor, data };
      for (const fn of this.listeners) fn(event);
    }
  }

  /** Hex sha256 of every line so far; reading it does not end the trace. */
  digest(): string {
    this.flushHash();
    return this.hash.copy().digest('hex');
  }

  private flushHash(): void {
    if (this.unhashed.length === 0) return;
    this.hash.update(this.unhashed);
    this.unhashed = '';
  }

  private quote(text: string): string {
    let q = this.quoted.get(text);
    if (q === undefined) {
      q = JSON.stringify(text);
      // Bounded: node ids, event names and actor ids are few; anything else is simply not cached past the bound.
      if (this.quoted.size < traceQuotedMax) this.quoted.set(text, q);
    }
    return q;
  }
}

const traceQuotedMax = 4096;

function stringifyData(data: Record<string, unknown>): string {
  try {
    return JSON.stringify(data);
  } catch {
    // bigint (and other values JSON refuses) take the slow, careful path.
    return JSON.stringify(data, jsonSafe);
  }
}

/** Makes values JSON can't express (bigint, byte arrays, errors) into stable, readable forms. */
function jsonSafe(_key: string, value: unknown): unknown {
  if (typeof value === 'bigint') return value.toString();
  if (value instanceof Uint8Array) return { bytes: value.length };
  if (value instanceof Error) return { error: value.name, message: value.message };
  return value;
}
