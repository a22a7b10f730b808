// The node's Prometheus metrics (prom-client), one registry per node so that several nodes in one process (tests,
// the demo) do not mix their numbers. Request counts and latency per api, bytes in and out, connections, rejected frames.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { WireMetrics } from '../wire/metrics.js';

export interface NodeMetrics {
  readonly registry: Registry;
  readonly requests: Counter<'api' | 'outcome'>;
  readonly requestSeconds: Histogram<'api'>;
  readonly bytesIn: Counter;
  readonly bytesOut: Counter;
  readonly framesIn: Counter;
  readonly framesOut: Counter;
  readonly rejectedFrames: Counter<'reason'>;
  readonly connections: Gauge;
  readonly httpRequests: Counter<'path' | 'status'>;
}

export function createNodeMetrics(labels: { nodeId: number }, options: { processMetrics?: boolean } = {}): NodeMetrics {
  const registry = new Registry();
  registry.setDefaultLabels({ node_id: String(labels.nodeId) });
  if (options.processMetrics ?? true) collectDefaultMetrics({ register: registry, prefix: 'raftline_' });
  return {
    registry,
    requests: new Counter({
      name: 'raftline_requests_total',
      help: 'Requests handled, by api and outcome (ok or an error code)',
      labelNames: ['api', 'outcome'],
      registers: [registry],
    }),
    requestSeconds: new Histogram({
      name: 'raftline_request_duration_seconds',
      help: 'Time from a request frame arriving to its response being sent, by api',
      labelNames: ['api'],
      buckets: [0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    bytesIn: new Counter({ name: 'raftline_network_bytes_in_total', help: 'Frame bytes received', registers: [registry] }),
    bytesOut: new Counter({ name: 'raftline_network_bytes_out_total', help: 'Frame bytes sent', registers: [registry] }),
    framesIn: new Counter({ name: 'raftline_network_frames_in_total', help: 'Frames received', registers: [registry] }),
    framesOut: new Counter({ name: 'raftline_network_frames_out_total', help: 'Frames sent', registers: [registry] }),
    rejectedFrames: new Counter({
      name: 'raftline_rejected_frames_total',
      help: 'Frames refused at the edge, by reason (CORRUPT_MESSAGE, INVALID_REQUEST, MESSAGE_TOO_LARGE, ...)',
      labelNames: ['reason'],
      registers: [registry],
    }),
    connections: new Gauge({ name: 'raftline_connections', help: 'Open WebSocket connections', registers: [registry] }),
    httpRequests: new Counter({
      name: 'raftline_http_requests_total',
      help: 'HTTP requests to the node\'s endpoints, by path and status',
      labelNames: ['path', 'status'],
      registers: [registry],
    }),
  };
}

/** The wire edge's metrics hook (src/wire/metrics.ts) implemented over this node's Prometheus registry. */
export function wireMetricsOf(metrics: NodeMetrics): WireMetrics {
  return {
    frameIn(bytes) {
      metrics.framesIn.inc();
      metrics.bytesIn.inc(bytes);
    },
    frameOut(bytes) {
      metrics.framesOut.inc();
      metrics.bytesOut.inc(bytes);
    },
    frameRejected(code) {
      metrics.rejectedFrames.inc({ reason: code });
    },
    requestCompleted(api, outcome, latencyMs) {
      metrics.requests.inc({ api, outcome });
      metrics.requestSeconds.observe({ api }, latencyMs / 1000);
    },
    connectionOpened() {
      metrics.connections.inc();
    },
    connectionClosed() {
      metrics.connections.dec();
    },
  };
}
