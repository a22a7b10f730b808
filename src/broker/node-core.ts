// The runtime-agnostic core of one node: the metadata quorum (quorum.ts), the RPC server with every handler the node
// serves, and the demux that hands each inbound connection to the Raft transport or the RPC server. It touches the
// world only through the Runtime it is given, so the broker process (node.ts, behind its HTTP/WebSocket listener) and
// the simulator (on its virtual network and SimDisk) run exactly this code. Keeps: nothing here knows which runtime
// it runs on, and close() stops in the reverse order of start.
import type { NodeConfig } from './config.js';
import { demuxConnection } from './demux.js';
import { startQuorum, type NodeQuorum } from './quorum.js';
import { createRpcServer, nodeHandlers, wireRegistry, type RpcServer } from '../wire/index.js';
import type { WireMetrics } from '../wire/metrics.js';
import type { Connection } from '../runtime/network.js';
import type { Runtime } from '../runtime/index.js';

export interface NodeCore {
  readonly quorum: NodeQuorum;
  readonly rpc: RpcServer;
  /** Takes an inbound connection on the node's port: a Raft peer or an RPC client, told apart by its first frame. */
  accept(connection: Connection): void;
  /** Joined: a metadata leader is known, and a broker is registered and unfenced. */
  joined(): boolean;
  /** Controlled shutdown and stop of everything the core started. Safe to call twice. */
  close(): Promise<void>;
}

export interface NodeCoreOptions {
  /** Where this node is reached (the bound listener: with port 0 requested, the port chosen). */
  advertised: { host: string; port: number };
  metrics?: WireMetrics;
}

/**
 * Starts the node's core once its listener is bound. `config.voters` must already name this node's real port (the
 * process patches port 0 before calling).
 */
export async function startNodeCore(config: NodeConfig, runtime: Runtime, options: NodeCoreOptions): Promise<NodeCore> {
  const quorum = await startQuorum(config, runtime, options.advertised);
  const rpc = createRpcServer({
    registry: wireRegistry,
    handlers: { ...quorum.handlers, ...nodeHandlers(config.nodeId) },
    log: runtime.log.child({ component: 'rpc' }),
    clock: runtime.clock,
    ...(options.metrics === undefined ? {} : { metrics: options.metrics }),
  });
  return {
    quorum,
    rpc,
    accept: (connection) => demuxConnection(connection, wireRegistry, { raft: (c) => quorum.transport.accept(c), rpc: (c) => rpc.accept(c) }),
    joined: () => quorum.joined(),
    close: () => quorum.close(),
  };
}
