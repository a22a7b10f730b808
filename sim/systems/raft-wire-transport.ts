// Carries Raft messages between simulated nodes over the Network port as wire frames (CBOR envelopes of the raft
// family, validated by the wire registry), until src/raft/transport.ts lands. Invariant: every message crosses the
// simulated network, so its partitions, loss, duplication, reordering, clogs and crashes all apply; nothing is
// delivered that did not decode and validate. Requests go on our outbound connection to the peer; responses go back
// on the connection the request came in on. The requester is named by the request itself (KIP-595 requests carry
// the candidate, leader or replica id), not by a handshake frame: the simulated network may lose any frame, and a
// lost handshake would strand a connection.
import { raftSimTransportQueueMax } from '../../src/limits.js';
import type { Connection, Listener, Logger, Network } from '../../src/runtime/index.js';
import { composeFamilies, createRegistry, type DecodedRequest } from '../../src/wire/index.js';
import { raftApis, type RaftApi, type RaftMessage } from '../../src/wire/raft.js';

export const raftWireRegistry = createRegistry(composeFamilies(raftApis));

/** The node that sent a request, as the request names it. */
function requester(request: DecodedRequest<typeof raftWireRegistry.apis>): number {
  switch (request.api) {
    case 'raft.vote':
      return request.body.candidateId;
    case 'raft.begin-quorum-epoch':
    case 'raft.end-quorum-epoch':
      return request.body.leaderId;
    case 'raft.fetch':
    case 'raft.fetch-snapshot':
      return request.body.replicaId;
  }
}

export interface RaftWireTransportOptions {
  nodeId: number;
  host: string;
  port: number;
  network: Network;
  /** "host:port" of a peer's Raft listener. */
  addressOf(nodeId: number): string;
  log: Logger;
  /** Every validated inbound message. */
  deliver(message: RaftMessage): void;
  /** Sees every message we send (checkers watch vote grants). */
  onSend?(to: number, message: RaftMessage): void;
}

interface Outbound {
  connection: Connection;
  open: boolean;
  queue: Uint8Array[];
}

export class RaftWireTransport {
  private listener: Listener | null = null;
  private readonly outbound = new Map<number, Outbound>();
  /** The newest inbound connection of each peer (where answers to its requests go). */
  private readonly inbound = new Map<number, Connection>();
  private readonly accepted = new Set<Connection>();
  private stopped = false;

  constructor(private readonly options: RaftWireTransportOptions) {}

  async start(): Promise<void> {
    this.listener = await this.options.network.listen({ host: this.options.host, port: this.options.port }, (connection) => this.accept(connection));
  }

  send(to: number, message: RaftMessage): void {
    if (this.stopped) return;
    this.options.onSend?.(to, message);
    const dot = message.type.lastIndexOf('.');
    const api = message.type.slice(0, dot) as RaftApi;
    if (message.type.endsWith('.response')) {
      // An answer with no connection to go back on is lost, as if the network had dropped it: the peer retries.
      const conn = this.inbound.get(to);
      if (conn?.isOpen === true) conn.send(raftWireRegistry.encodeResponse(api, message.correlationId, message.body as never));
      return;
    }
    this.request(to, raftWireRegistry.encodeRequest(api, message.correlationId, message.body as never));
  }

  stop(): void {
    this.stopped = true;
    for (const o of this.outbound.values()) o.connection.close('stopping');
    for (const c of this.accepted) c.close('stopping');
    void this.listener?.close();
  }

  private request(to: number, frame: Uint8Array): void {
    let out = this.outbound.get(to);
    if (out === undefined) {
      const o: Outbound = { connection: null as unknown as Connection, open: false, queue: [] };
      o.connection = this.options.network.connect(this.options.addressOf(to), {
        onOpen: () => {
          o.open = true;
          for (const f of o.queue) o.connection.send(f);
          o.queue = [];
        },
        onFrame: (bytes) => this.onFrame(to, bytes, o.connection),
        onClose: () => {
          if (this.outbound.get(to) === o) this.outbound.delete(to);
        },
      });
      this.outbound.set(to, o);
      out = o;
    }
    if (out.open) out.connection.send(frame);
    // While connecting, keep a few requests; Raft resends on its timers, so dropping the excess loses nothing.
    else if (out.queue.length < raftSimTransportQueueMax) out.queue.push(frame);
  }

  private accept(connection: Connection): void {
    this.accepted.add(connection);
    connection.setHandlers({
      onFrame: (bytes) => this.onFrame(null, bytes, connection),
      onClose: () => {
        this.accepted.delete(connection);
        for (const [peer, c] of this.inbound) if (c === connection) this.inbound.delete(peer);
      },
    });
  }

  /** `peer`: the node at the other end of our outbound connection; null on an accepted one (requests name it). */
  private onFrame(peer: number | null, bytes: Uint8Array, connection: Connection): void {
    if (this.stopped) return;
    const env = raftWireRegistry.decodeEnvelope(bytes);
    if (!env.ok) {
      this.options.log.warn({ conn: connection.id, reason: env.rejection.reason }, 'bad raft frame');
      return;
    }
    const envelope = env.value;
    if (envelope.kind === 'request') {
      const req = raftWireRegistry.parseRequest(envelope);
      if (!req.ok) {
        this.options.log.warn({ conn: connection.id, reason: req.rejection.reason }, 'bad raft request');
        return;
      }
      const from = requester(req.value);
      // The latest connection a peer asked on is where its answers go.
      this.inbound.set(from, connection);
      // The registry validated the body against the same raft schema RaftMessage is inferred from.
      this.options.deliver({ type: `${req.value.api}.request`, from, correlationId: req.value.cid, body: req.value.body } as RaftMessage);
      return;
    }
    if (envelope.kind === 'response') {
      const from = peer;
      if (from === null || !(envelope.api in raftApis)) return;
      const res = raftWireRegistry.parseResponse(envelope.api as RaftApi, envelope);
      if (!res.ok || res.value.error !== undefined) {
        this.options.log.warn({ from, api: envelope.api }, 'bad raft response');
        return;
      }
      this.options.deliver({ type: `${envelope.api}.response`, from, correlationId: res.value.cid, body: res.value.body } as RaftMessage);
    }
  }
}
