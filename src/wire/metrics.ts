// The WireMetrics hook: what the wire edge counts. The broker implements it with prom-client; specs use the
// in-memory counter below. Labels are bounded: `api` is only ever an api the registry knows (unknown names from
// a peer are counted as rejections, never as a label), `outcome` is 'ok' or a code of the error table.
import type { ErrorCode } from './errors.js';
import type { RejectionCode } from './registry.js';

export type RequestOutcome = 'ok' | ErrorCode;

export interface WireMetrics {
  /** A frame arrived (before decoding). */
  frameIn(bytes: number): void;
  /** A frame was handed to the transport. */
  frameOut(bytes: number): void;
  /** A frame could not be decoded or validated. */
  frameRejected(code: RejectionCode): void;
  /** A request of a known api finished (answered, or abandoned because the connection closed). */
  requestCompleted(api: string, outcome: RequestOutcome, latencyMs: number): void;
  connectionOpened(): void;
  connectionClosed(): void;
}

export const noopWireMetrics: WireMetrics = {
  frameIn: () => {},
  frameOut: () => {},
  frameRejected: () => {},
  requestCompleted: () => {},
  connectionOpened: () => {},
  connectionClosed: () => {},
};

/** WireMetrics kept in plain counters: for specs, benches and the simulator's summaries. */
export interface CountingWireMetrics extends WireMetrics {
  framesIn: number;
  bytesIn: number;
  framesOut: number;
  bytesOut: number;
  connectionsOpen: number;
  readonly rejected: Map<RejectionCode, number>;
  /** Keyed `${api} ${outcome}`. */
  readonly requests: Map<string, number>;
  readonly latencyMs: Map<string, number[]>;
}

/** Latency samples kept per api; older ones are dropped so the counter stays bounded. */
const latencySamplesMax = 10_000;

export function createCountingWireMetrics(): CountingWireMetrics {
  const bump = <K>(map: Map<K, number>, key: K): void => {
    map.set(key, (map.get(key) ?? 0) + 1);
  };
  const metrics: CountingWireMetrics = {
    framesIn: 0,
    bytesIn: 0,
    framesOut: 0,
    bytesOut: 0,
    connectionsOpen: 0,
    rejected: new Map(),
    requests: new Map(),
    latencyMs: new Map(),
    frameIn(bytes) {
      metrics.framesIn++;
      metrics.bytesIn += bytes;
    },
    frameOut(bytes) {
      metrics.framesOut++;
      metrics.bytesOut += bytes;
    },
    frameRejected: (code) => bump(metrics.rejected, code),
    requestCompleted(api, outcome, latencyMs) {
      bump(metrics.requests, `${api} ${outcome}`);
      const samples = metrics.latencyMs.get(api) ?? [];
      if (samples.length >= latencySamplesMax) samples.shift();
      samples.push(latencyMs);
      metrics.latencyMs.set(api, samples);
    },
    connectionOpened() {
      metrics.connectionsOpen++;
    },
    connectionClosed() {
      metrics.connectionsOpen--;
      if (metrics.connectionsOpen < 0) throw new Error('wire metrics: more connections closed than opened');
    },
  };
  return metrics;
}
