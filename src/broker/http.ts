// The node's HTTP endpoints, served on the same port as its WebSocket endpoint: /livez (the process is up),
// /readyz (every readiness condition holds: listening, storage open, joined the cluster...), /healthz (alias of
// /livez), /metrics (Prometheus text). Unknown paths get 404; only GET and HEAD are allowed.
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { NodeMetrics } from './metrics.js';

/**
 * Named readiness conditions. A node is ready when every registered condition is met; /readyz lists the ones that
 * are not, so an operator sees why a node is not ready yet.
 */
export class Readiness {
  private readonly conditions = new Map<string, boolean>();

  /** Declares a condition (initially unmet). */
  require(name: string): void {
    if (!this.conditions.has(name)) this.conditions.set(name, false);
  }

  set(name: string, met: boolean): void {
    this.conditions.set(name, met);
  }

  get ready(): boolean {
    return this.conditions.size > 0 && [...this.conditions.values()].every(Boolean);
  }

  unmet(): string[] {
    return [...this.conditions].filter(([, met]) => !met).map(([name]) => name);
  }

  snapshot(): Record<string, boolean> {
    return Object.fromEntries(this.conditions);
  }
}

export interface HttpContext {
  nodeId: number;
  readiness: Readiness;
  metrics: NodeMetrics;
  /** Extra routes (e.g. /ui, /api/...) added by later parts of the node. */
  routes?: Map<string, (req: IncomingMessage, res: ServerResponse) => void>;
}

function send(res: ServerResponse, status: number, contentType: string, body: string, head: boolean): void {
  res.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store', 'content-length': Buffer.byteLength(body) });
  res.end(head ? undefined : body);
}

export function createHttpHandler(ctx: HttpContext): (req: IncomingMessage, res: ServerResponse) => void {
  return (req, res) => {
    const path = (req.url ?? '/').split('?')[0] ?? '/';
    const head = req.method === 'HEAD';
    const finish = (status: number, contentType: string, body: string): void => {
      const known = ['/livez', '/healthz', '/readyz', '/metrics'].includes(path) || ctx.routes?.has(path) ? path : 'other';
      ctx.metrics.httpRequests.inc({ path: known, status: String(status) });
      send(res, status, contentType, body, head);
    };
    if (req.method !== 'GET' && !head) {
      res.setHeader('allow', 'GET, HEAD');
      finish(405, 'text/plain; charset=utf-8', `method ${req.method ?? ''} not allowed; use GET\n`);
      return;
    }
    switch (path) {
      case '/livez':
      case '/healthz':
        finish(200, 'text/plain; charset=utf-8', `ok node ${ctx.nodeId}\n`);
        return;
      case '/readyz': {
        const body = JSON.stringify({ node: ctx.nodeId, ready: ctx.readiness.ready, conditions: ctx.readiness.snapshot() }) + '\n';
        finish(ctx.readiness.ready ? 200 : 503, 'application/json', body);
        return;
      }
      case '/metrics':
        ctx.metrics.registry.metrics().then(
          (text) => finish(200, ctx.metrics.registry.contentType, text),
          (err: unknown) => finish(500, 'text/plain; charset=utf-8', `metrics failed: ${String(err)}\n`),
        );
        return;
      default: {
        const route = ctx.routes?.get(path);
        if (route) {
          route(req, res);
          return;
        }
        finish(404, 'text/plain; charset=utf-8', `no such endpoint ${path}; try /livez, /readyz, /metrics\n`);
      }
    }
  };
}
