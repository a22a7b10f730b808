// The composition root of one node process: claims the data directory, serves HTTP (and, on the same port, the
// WebSocket endpoint), starts the node's core (node-core.ts: the quorum, the RPC server and what later parts add —
// the simulator runs that same core) and shuts everything down in reverse order.
import http from 'node:http';
import type { NodeConfig } from './config.js';
import { ConfigError } from './config.js';
import { claimDataDir, type DataDirClaim } from './data-dir.js';
import { createHttpHandler, Readiness } from './http.js';
import { createNodeMetrics, wireMetricsOf, type NodeMetrics } from './metrics.js';
import type { RpcServer } from '../wire/index.js';
import type { Connection, Listener } from '../runtime/network.js';
import { every } from '../runtime/clock.js';
import type { NodeQuorum } from './quorum.js';
import { startNodeCore, type NodeCore } from './node-core.js';
import type { Runtime } from '../runtime/index.js';
import type { RealNetwork } from '../runtime/real/network.js';

export interface RunningNode {
  readonly config: NodeConfig;
  /** The bound "host:port" (with port 0 requested, the one chosen). */
  readonly address: string;
  readonly readiness: Readiness;
  readonly metrics: NodeMetrics;
  readonly rpc: RpcServer;
  readonly quorum: NodeQuorum;
  /** Stops serving and releases the data directory. Safe to call twice. */
  close(): Promise<void>;
}

function listenHttp(server: http.Server, host: string, port: number): Promise<void> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException): void => {
      server.off('listening', onListening);
      if (err.code === 'EADDRINUSE') {
        reject(new ConfigError('listeners', `cannot listen on ${host}:${port} (listeners): the address is already in use; stop what holds it or choose another port`));
      } else if (err.code === 'EADDRNOTAVAIL' || err.code === 'ENOTFOUND' || err.code === 'EACCES') {
        reject(new ConfigError('listeners', `cannot listen on ${host}:${port} (listeners): ${err.code}; use an address of this machine and a port you may bind`));
      } else reject(err);
    };
    const onListening = (): void => {
      server.off('error', onError);
      resolve();
    };
    server.once('error', onError);
    server.once('listening', onListening);
    server.listen(port, host);
  });
}

export async function startNode(config: NodeConfig, runtime: Runtime & { readonly network: RealNetwork }): Promise<RunningNode> {
  const log = runtime.log;
  const readiness = new Readiness();
  readiness.require('listening');
  readiness.require('storage');
  readiness.require('joined');
  const metrics = createNodeMetrics({ nodeId: config.nodeId });
  let claim: DataDirClaim | undefined = claimDataDir(config.dataDir, { nodeId: config.nodeId, clusterId: config.clusterId });

  const server = http.createServer(createHttpHandler({ nodeId: config.nodeId, readiness, metrics }));
  server.keepAliveTimeout = 5_000;
  // The quorum needs the node's address before it registers as a broker; with port 0 it is known only once bound,
  // so the RPC server is created after the listener is up and connections wait for it in the demux below.
  const routing: { route?: (connection: Connection) => void } = {};
  const pending: Array<Connection> = [];
  const wsListener: Listener = runtime.network.attach(server, (connection) => {
    if (routing.route !== undefined) routing.route(connection);
    else if (pending.length < 1024) pending.push(connection);
    else connection.close('node starting');
  });
  try {
    await listenHttp(server, config.listener.host, config.listener.port);
  } catch (err) {
    await wsListener.close();
    claim.release();
    throw err;
  }
  const bound = server.address();
  const address = typeof bound === 'object' && bound ? `${config.listener.host}:${bound.port}` : `${config.listener.host}:${config.listener.port}`;
  readiness.set('listening', true);

  let core: NodeCore;
  try {
    // With port 0 (tests, the demo) the embedded node's own voter entry learns its port only now.
    const boundPort = Number(address.slice(address.lastIndexOf(':') + 1));
    const voters = config.voters.map((v) => (v.id === config.nodeId && v.port === 0 ? { ...v, port: boundPort } : v));
    core = await startNodeCore({ ...config, voters }, runtime, { advertised: { host: config.listener.host, port: boundPort }, metrics: wireMetricsOf(metrics) });
  } catch (err) {
    await wsListener.close();
    await new Promise<void>((resolve) => server.close(() => resolve()));
    claim.release();
    throw err;
  }
  readiness.set('storage', true);
  routing.route = (connection) => core.accept(connection);
  for (const connection of pending.splice(0)) routing.route(connection);
  const stopReadiness = every(runtime.clock, 100, () => readiness.set('joined', core.joined()));
  log.info({ address, dataDir: claim.dir, roles: config.roles, voters: config.voters.map((v) => v.id) }, 'node started');

  let closing: Promise<void> | undefined;
  return {
    config,
    address,
    readiness,
    metrics,
    rpc: core.rpc,
    quorum: core.quorum,
    close() {
      closing ??= (async () => {
        readiness.set('listening', false);
        stopReadiness();
        // The quorum goes first (controlled shutdown needs the network), then the listeners.
        await core.close();
        await wsListener.close();
        await new Promise<void>((resolve) => {
          server.close(() => resolve());
          server.closeAllConnections();
        });
        claim?.release();
        claim = undefined;
        log.info({}, 'node stopped');
      })();
      return closing;
    },
  };
}
