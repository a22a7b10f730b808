// The Raft transport: carries RaftMessages between quorum nodes over the Network port, as one-way wire frames of the
// `raft.*.request` / `raft.*.response` carrier family (src/wire/raft-messages.ts). Raft pairs requests with responses
// by its own correlation ids and already tolerates loss, duplication and reordering, so the transport is best effort:
// one outbound connection per peer (reconnected with doubling back-off on the Clock port), a bounded queue while it
// is not open, and frames dropped (counted) when the peer does not drain. Inbound connections only carry frames in;
// each is decoded and validated once, at the edge, and handed to the local node. Invariants: memory per peer is
// bounded (queue and transport buffer); a malformed frame never reaches Raft; after `close` nothing is sent,
// delivered or scheduled. It runs unchanged on the real network and the simulator's (addresses are "host:port").
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import { silentLogger } from '../runtime/logger.js';
import type { Connection, Listener, ListenOptions, Network } from '../runtime/network.js';
import { raftTransportQueueMax, raftTransportQueuedMaxAgeMs, raftTransportReconnectMsMax, raftTransportReconnectMsMin } from '../limits.js';
import type { RaftMessage } from '../wire/raft.js';
import { raftMessageApis, type RaftMessageApi } from '../wire/raft-messages.js';
import { wireRegistry } from '../wire/registry.js';
import { createRaftNode, type RaftNode, type RaftNodeOptions } from './node.js';
import type { NodeId } from './ports.js';
import { invariant } from './quorum.js';

export interface RaftTransportOptions {
  nodeId: NodeId;
  network: Network;
  clock: Clock;
  /**
   * nodeId → "host:port" of each peer's Raft listener. Read at every connection attempt, so the caller may fill it
   * after the listeners are up (tests listen on port 0 first). A message to a node without an address is dropped.
   */
  peers: ReadonlyMap<NodeId, string>;
  logger?: Logger;
  /** Messages queued per peer while its connection is not open (default `raftTransportQueueMax`). */
  queueMax?: number;
  /** A queued message older than this when the connection opens is dropped (default `raftTransportQueuedMaxAgeMs`). */
  queuedMaxAgeMs?: number;
  reconnectMsMin?: number;
  reconnectMsMax?: number;
}

export interface RaftTransportStats {
  sent: number;
  received: number;
  /** Messages dropped: queue overflow, peer not draining, no address, or encoding refused. */
  dropped: number;
  /** Inbound frames rejected at the edge (undecodable or invalid). */
  rejected: number;
  connects: number;
}

export interface RaftTransport {
  readonly nodeId: NodeId;
  /** Where validated inbound messages go (the local node's `deliver`). Messages before this is set are dropped. */
  setReceiver(deliver: (message: RaftMessage) => void): void;
  /**
   * Where "peer N unreachable" goes (the local node's `peerUnreachable`): called when an outbound connection closes
   * by the remote end or an error (a reset, a refused connect), never on our own close nor on mere silence.
   */
  setUnreachableReceiver(report: (peer: NodeId) => void): void;
  /** Best effort: hands `message` to the connection to `to`, queueing while it connects. The RaftNode's `send`. */
  send(to: NodeId, message: RaftMessage): void;
  /** Listens on a dedicated address (Kafka's CONTROLLER listener) and accepts every connection. */
  listen(options: ListenOptions): Promise<Listener>;
  /** Takes an inbound connection accepted elsewhere (e.g. a listener shared with other services). */
  accept(connection: Connection): void;
  stats(): RaftTransportStats;
  /** Stops: closes listeners and connections and cancels reconnects. */
  close(): Promise<void>;
}

interface Peer {
  readonly id: NodeId;
  /** The current connection attempt (set from connect until close), and its connection once `connect` returned. */
  attempt: object | undefined;
  connection: Connection | undefined;
  open: boolean;
  /** The transport reported backpressure; frames are dropped until it drains. */
  blocked: boolean;
  queue: Array<{ frame: Uint8Array; at: number }>;
  retryMs: number;
  timer: TimerHandle | undefined;
}

export function createRaftTransport(options: RaftTransportOptions): RaftTransport {
  const { nodeId, network, clock, peers } = options;
  const logger = (options.logger ?? silentLogger).child({ actor: `raft-transport-${nodeId}` });
  const queueMax = options.queueMax ?? raftTransportQueueMax;
  const queuedMaxAgeMs = options.queuedMaxAgeMs ?? raftTransportQueuedMaxAgeMs;
  const retryMin = options.reconnectMsMin ?? raftTransportReconnectMsMin;
  const retryMax = options.reconnectMsMax ?? raftTransportReconnectMsMax;
  invariant(Number.isSafeInteger(queueMax) && queueMax > 0, 'transport queueMax is a positive integer');
  invariant(retryMin > 0 && retryMax >= retryMin, 'transport reconnect back-off is positive and ordered');
  const registry = wireRegistry;
  const outbound = new Map<NodeId, Peer>();
  const inbound = new Set<Connection>();
  const listeners: Listener[] = [];
  const stats: RaftTransportStats = { sent: 0, received: 0, dropped: 0, rejected: 0, connects: 0 };
  let deliver: ((message: RaftMessage) => void) | undefined;
  let reportUnreachable: ((peer: NodeId) => void) | undefined;
  let closed = false;

  function peerOf(id: NodeId): Peer {
    let peer = outbound.get(id);
    if (peer === undefined) {
      peer = { id, attempt: undefined, connection: undefined, open: false, blocked: false, queue: [], retryMs: retryMin, timer: undefined };
      outbound.set(id, peer);
    }
    return peer;
  }

  function transmit(peer: Peer, frame: Uint8Array): void {
    invariant(peer.open && peer.connection !== undefined, 'transmit only on an open connection');
    if (peer.blocked) {
      stats.dropped++;
      return;
    }
    stats.sent++;
    // false: the frame was taken but the buffer is over its high-water mark; drop what comes until onDrain.
    if (!peer.connection.send(frame)) peer.blocked = true;
  }

  function scheduleConnect(peer: Peer): void {
    if (closed || peer.timer !== undefined || peer.attempt !== undefined) return;
    const delayMs = peer.retryMs;
    peer.retryMs = Math.min(peer.retryMs * 2, retryMax);
    peer.timer = clock.setTimeout(() => {
      peer.timer = undefined;
      connect(peer);
    }, delayMs);
  }

  function flushQueue(peer: Peer): void {
    const queued = peer.queue;
    peer.queue = [];
    // A message that waited long for the connection answers a question nobody is waiting for any more (Raft resends
    // what still matters); delivered seconds late it could only confuse the receiver.
    const now = clock.now();
    for (const { frame, at } of queued) {
      if (now - at > queuedMaxAgeMs) stats.dropped++;
      else transmit(peer, frame);
    }
  }

  function connect(peer: Peer): void {
    if (closed || peer.attempt !== undefined) return;
    const address = peers.get(peer.id);
    if (address === undefined) {
      // Not known yet (an observer whose registration has not committed): what is queued cannot be delivered, and
      // the next send looks the address up again at once. A back-off here would keep a newly registered broker from
      // hearing the leader's fetch answers for seconds, and so from catching up and being unfenced.
      stats.dropped += peer.queue.length;
      peer.queue = [];
      logger.debug({ peer: peer.id }, 'raft transport: no address for peer; dropped');
      return;
    }
    stats.connects++;
    // Handlers compare against this token, so events of an older connection never touch the current one.
    const attempt = {};
    peer.attempt = attempt;
    const connection = network.connect(address, {
      onOpen: () => {
        if (peer.attempt !== attempt || closed) return;
        peer.open = true;
        peer.retryMs = retryMin;
        logger.debug({ peer: peer.id, address }, 'raft transport: connected');
        if (peer.connection !== undefined) flushQueue(peer);
      },
      // Peers never answer on our outbound connection (they answer on their own), so anything arriving is ignored.
      onFrame: () => {},
      onDrain: () => {
        if (peer.attempt === attempt) peer.blocked = false;
      },
      onClose: (reason) => {
        if (peer.attempt !== attempt) return;
        peer.attempt = undefined;
        peer.connection = undefined;
        peer.open = false;
        peer.blocked = false;
        logger.debug({ peer: peer.id, address, by: reason.by, detail: reason.detail }, 'raft transport: connection closed');
        scheduleConnect(peer);
        // A reset or refused connection is news about the peer (a crashed process); our own close is not.
        if (!closed && reason.by !== 'local') reportUnreachable?.(peer.id);
      },
    });
    // Should a network fire onOpen or onClose before connect returns, the token above has already sorted it out.
    if (peer.attempt === attempt) {
      peer.connection = connection;
      if (peer.open) flushQueue(peer);
    }
  }

  function receive(connection: Connection, frame: Uint8Array): void {
    if (closed) return;
    const envelope = registry.decodeEnvelope(frame);
    if (!envelope.ok) {
      stats.rejected++;
      logger.warn({ code: envelope.rejection.code, reason: envelope.rejection.reason, remote: connection.remote }, 'raft transport: undecodable frame, closing');
      connection.close(`${envelope.rejection.code}: ${envelope.rejection.reason}`);
      return;
    }
    if (envelope.value.kind !== 'event' || !Object.hasOwn(raftMessageApis, envelope.value.api)) {
      stats.rejected++;
      logger.debug({ api: envelope.value.api, kind: envelope.value.kind }, 'raft transport: not a raft message; dropped');
      return;
    }
    const event = registry.parseEvent(envelope.value);
    if (!event.ok) {
      stats.rejected++;
      logger.debug({ api: envelope.value.api, reason: event.rejection.reason }, 'raft transport: invalid raft message; dropped');
      return;
    }
    const { api, body } = event.value as { api: RaftMessageApi; body: { from: number; correlationId: number; body: unknown } };
    if (body.from === nodeId) {
      stats.rejected++;
      logger.warn({ api, remote: connection.remote }, 'raft transport: a message claiming to come from this node; dropped');
      return;
    }
    stats.received++;
    // The carrier schema validated the body with the very schema of this message type, so the cast is sound.
    const message = { type: api, from: body.from, correlationId: body.correlationId, body: body.body } as RaftMessage;
    if (deliver === undefined) {
      stats.dropped++;
      return;
    }
    deliver(message);
  }

  const transport: RaftTransport = {
    nodeId,
    setReceiver(fn) {
      deliver = fn;
    },
    setUnreachableReceiver(fn) {
      reportUnreachable = fn;
    },
    send(to, message) {
      if (closed) return;
      if (to === nodeId) {
        // Raft never addresses itself; only a forged sender id could lead here, so drop rather than loop back.
        stats.dropped++;
        logger.warn({ type: message.type }, 'raft transport: a message addressed to this node itself; dropped');
        return;
      }
      let frame: Uint8Array;
      try {
        frame = registry.encodeEvent(message.type, { from: message.from, correlationId: message.correlationId, body: message.body as never });
      } catch (error) {
        stats.dropped++;
        logger.error({ err: error instanceof Error ? error.message : String(error), type: message.type, to }, 'raft transport: message not encodable; dropped');
        return;
      }
      const peer = peerOf(to);
      if (peer.open && peer.connection !== undefined) {
        transmit(peer, frame);
        return;
      }
      peer.queue.push({ frame, at: clock.now() });
      // Old messages are the least useful to Raft (it resends what still matters), so they go first.
      if (peer.queue.length > queueMax) {
        peer.queue.shift();
        stats.dropped++;
      }
      if (peer.attempt === undefined && peer.timer === undefined) connect(peer);
    },
    async listen(listenOptions) {
      invariant(!closed, 'listen on a closed transport');
      const listener = await network.listen(listenOptions, (connection) => transport.accept(connection));
      listeners.push(listener);
      return listener;
    },
    accept(connection) {
      if (closed) {
        connection.close('raft transport closed');
        return;
      }
      inbound.add(connection);
      connection.setHandlers({
        onFrame: (frame) => receive(connection, frame),
        onClose: () => {
          inbound.delete(connection);
        },
      });
    },
    stats: () => ({ ...stats }),
    async close() {
      if (closed) return;
      closed = true;
      for (const peer of outbound.values()) {
        if (peer.timer !== undefined) clock.clearTimeout(peer.timer);
        peer.timer = undefined;
        peer.queue = [];
        peer.attempt = undefined;
        peer.connection?.close('raft transport closed');
        peer.connection = undefined;
        peer.open = false;
      }
      for (const connection of [...inbound]) connection.close('raft transport closed');
      inbound.clear();
      await Promise.all(listeners.splice(0).map((listener) => listener.close()));
    },
  };
  return transport;
}

export interface NetworkedRaftNodeOptions extends Omit<RaftNodeOptions, 'send'> {
  network: Network;
  /** nodeId → address of every node this one talks to (see RaftTransportOptions.peers). */
  peers: ReadonlyMap<NodeId, string>;
  /** A dedicated listener for inbound Raft traffic; omit it when the host passes connections to `transport.accept`. */
  listen?: ListenOptions;
  transport?: Omit<RaftTransportOptions, 'nodeId' | 'network' | 'clock' | 'peers' | 'logger'>;
}

export interface NetworkedRaftNode {
  node: RaftNode;
  transport: RaftTransport;
  /** The dedicated listener, when `listen` was given (its `address` has the port actually bound). */
  listener: Listener | undefined;
  /** Stops the node (a crash as far as Raft is concerned) and closes the transport. */
  stop(): Promise<void>;
}

/**
 * The usual wiring: a transport, a RaftNode whose `send` is the transport's, inbound messages fed to the node. The node
 * is not started: call `node.start()` once the peers' addresses are known.
 */
export async function createNetworkedRaftNode(options: NetworkedRaftNodeOptions): Promise<NetworkedRaftNode> {
  const { network, peers, listen, transport: transportOptions, ...nodeOptions } = options;
  const transport = createRaftTransport({
    ...transportOptions,
    nodeId: options.config.nodeId,
    network,
    clock: options.clock,
    peers,
    ...(options.logger === undefined ? {} : { logger: options.logger }),
  });
  const node = createRaftNode({ ...nodeOptions, send: (to, message) => transport.send(to, message) });
  transport.setReceiver((message) => node.deliver(message));
  transport.setUnreachableReceiver((peer) => node.peerUnreachable(peer));
  let listener: Listener | undefined;
  try {
    listener = listen === undefined ? undefined : await transport.listen(listen);
  } catch (error) {
    // The address is taken (or bad): nothing of this node may linger.
    await transport.close();
    throw error;
  }
  return {
    node,
    transport,
    listener,
    stop: async () => {
      node.stop();
      await transport.close();
    },
  };
}
