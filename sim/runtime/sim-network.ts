// The simulated Network port: in-memory connections between simulated processes, over links that delay, drop,
// duplicate, reorder, clog and partition frames. Invariants: a connection's onClose fires at most once and nothing
// is delivered after it; without the reorder fault each direction of a connection is FIFO; every frame sent is
// traced exactly once as delivered or dropped (plus once per duplicate); all randomness comes from one stream.
import type { Connection, ConnectionHandlers, CloseReason, Listener, ListenOptions, Network } from '../../src/runtime/network.js';
import type { Random } from '../../src/runtime/random.js';
import { parseAddress } from '../../src/runtime/network.js';
import { AddressInUseError } from '../../src/runtime/errors.js';
import { connectionBufferedBytesMax } from '../../src/limits.js';
import { InProcessFrame } from '../../src/wire/in-process.js';
import type { Trace } from '../trace.js';
import type { TimerOwner, VirtualClock } from './virtual-clock.js';

/** How one direction of a link between two hosts behaves. Probabilities are per frame, in [0, 1]. */
export interface LinkModel {
  latencyMinMs: number;
  latencyMaxMs: number;
  loss: number;
  duplicate: number;
  reorder: number;
}

export const defaultLinkModel: LinkModel = { latencyMinMs: 1, latencyMaxMs: 5, loss: 0, duplicate: 0, reorder: 0 };

export interface SimNetworkOptions {
  clock: VirtualClock;
  random: Random;
  trace: Trace;
  link?: Partial<LinkModel>;
  /** A connect attempt that gets no answer (partition, loss) fails after this long. */
  connectTimeoutMs?: number;
  /** A connection whose path is cut (partition, crashed peer's host) is closed as dead after this long, like ws pings. */
  livenessTimeoutMs?: number;
}

/** A simulated process as the network sees it. */
export interface NetProcess {
  readonly host: string;
  readonly owner: TimerOwner;
}

const loopbackHosts = new Set(['127.0.0.1', 'localhost', '0.0.0.0', '::', '::1']);

interface SimListener {
  readonly process: NetProcess;
  readonly incarnation: number;
  readonly address: string;
  readonly onConnection: (connection: Connection) => void;
}

export class SimNetwork {
  private readonly clock: VirtualClock;
  private readonly random: Random;
  private readonly trace: Trace;
  private defaults: LinkModel;
  private readonly overrides = new Map<string, Partial<LinkModel>>();
  private readonly blocked = new Set<string>();
  private readonly cloggedUntil = new Map<string, number>();
  private readonly listeners = new Map<string, SimListener>();
  /** Every endpoint that has not closed yet, by connection id + side (bounded by the connections nodes open). */
  private readonly live = new Set<SimConnection>();
  private readonly ephemeralPort = new Map<string, number>();
  private nextConnectionId = 1;
  readonly connectTimeoutMs: number;
  readonly livenessTimeoutMs: number;

  constructor(options: SimNetworkOptions) {
    this.clock = options.clock;
    this.random = options.random;
    this.trace = options.trace;
    this.defaults = checkModel({ ...defaultLinkModel, ...options.link });
    this.connectTimeoutMs = options.connectTimeoutMs ?? 3_000;
    this.livenessTimeoutMs = options.livenessTimeoutMs ?? 10_000;
  }

  /** Replaces the default model of every link (overrides set with setLink stay on top). */
  setDefaults(model: Partial<LinkModel>): void {
    this.defaults = checkModel({ ...this.defaults, ...model });
  }

  /** Overrides the model of the one-way link `from` → `to` (host names). */
  setLink(from: string, to: string, model: Partial<LinkModel>): void {
    checkModel({ ...this.defaults, ...this.overrides.get(linkKey(from, to)), ...model });
    this.overrides.set(linkKey(from, to), { ...this.overrides.get(linkKey(from, to)), ...model });
  }

  /** Takes loss, duplication and reordering off every link override (latency overrides stay): a reliable network. */
  clearLinkFaults(): void {
    for (const [key, o] of this.overrides) {
      const { loss: _loss, duplicate: _duplicate, reorder: _reorder, ...rest } = o;
      if (Object.keys(rest).length === 0) this.overrides.delete(key);
      else this.overrides.set(key, rest);
    }
  }

  modelOf(from: string, to: string): LinkModel {
    const o = this.overrides.get(linkKey(from, to));
    return o === undefined ? this.defaults : { ...this.defaults, ...o };
  }

  /** Cuts every link from a host in `from` to a host in `to` (and back, unless oneWay). */
  partition(from: readonly string[], to: readonly string[], oneWay = false): void {
    for (const a of from) {
      for (const b of to) {
        if (a === b) continue;
        this.blocked.add(linkKey(a, b));
        if (!oneWay) this.blocked.add(linkKey(b, a));
      }
    }
    this.trace.record('-', 'net.partition', { from, to, oneWay });
    // Connections across the cut die by liveness timeout unless the cut heals first (ws ping/pong semantics).
    for (const c of [...this.live]) {
      if (c.side === 'client' && c.peer !== null && this.cut(c.process.host, c.peer.process.host)) this.watchLiveness(c);
    }
  }

  /** Lifts every partition and clog. */
  heal(): void {
    this.blocked.clear();
    this.cloggedUntil.clear();
    this.trace.record('-', 'net.heal');
  }

  /** Holds everything sent on `from` → `to` until `untilMs` (virtual), then lets it through in order. */
  clog(from: string, to: string, untilMs: number): void {
    this.cloggedUntil.set(linkKey(from, to), untilMs);
    this.trace.record('-', 'net.clog', { from, to, untilMs });
  }

  isBlocked(from: string, to: string): boolean {
    return this.blocked.has(linkKey(from, to));
  }

  /** Open connections (both ends counted) — the bounded-queue checker watches this. */
  liveConnections(): number {
    return this.live.size;
  }

  /** Largest number of bytes in flight on any one connection direction. */
  maxInflightBytes(): number {
    let max = 0;
    for (const c of this.live) max = Math.max(max, c.inflightBytes);
    return max;
  }

  /**
   * The process on `host` crashed: its listeners vanish, its endpoints die silently, and each peer learns of it
   * one latency later (the kernel resets the sockets) or by liveness timeout when the path is cut.
   */
  hostCrashed(host: string): void {
    for (const [address, l] of this.listeners) if (l.process.host === host) this.listeners.delete(address);
    for (const c of [...this.live]) {
      if (c.process.host !== host) continue;
      c.die();
      const peer = c.peer;
      if (peer === null || peer.closed) continue;
      const delay = this.cut(host, peer.process.host) ? this.livenessTimeoutMs : this.sampleLatency(this.modelOf(host, peer.process.host));
      this.clock.schedule(peer.process.owner, delay, () => peer.finish({ by: 'error', detail: 'peer crashed' }));
    }
  }

  /** The Network port for one process. */
  viewFor(process: NetProcess): Network {
    return {
      listen: (options, onConnection) => this.listen(process, options, onConnection),
      connect: (address, handlers) => this.connect(process, address, handlers),
    };
  }

  private listen(process: NetProcess, options: ListenOptions, onConnection: (c: Connection) => void): Promise<Listener> {
    const host = loopbackHosts.has(options.host) ? process.host : options.host;
    if (host !== process.host) throw new TypeError(`sim network: ${process.host} cannot listen on foreign host ${options.host}`);
    const port = options.port === 0 ? this.allocatePort(host) : options.port;
    const address = `${host}:${port}`;
    const existing = this.listeners.get(address);
    if (existing !== undefined && existing.incarnation === process.owner.incarnation) {
      return Promise.reject(new AddressInUseError(address));
    }
    const listener: SimListener = { process, incarnation: process.owner.incarnation, address, onConnection };
    this.listeners.set(address, listener);
    this.trace.record(process.owner.nodeId, 'net.listen', { address });
    return Promise.resolve({
      address,
      close: () => {
        if (this.listeners.get(address) === listener) this.listeners.delete(address);
        return Promise.resolve();
      },
    });
  }

  private connect(process: NetProcess, address: string, handlers: ConnectionHandlers): Connection {
    const target = parseAddress(address);
    const remoteHost = loopbackHosts.has(target.host) ? process.host : target.host;
    const remote = `${remoteHost}:${target.port}`;
    const id = `c${this.nextConnectionId++}`;
    const client = new SimConnection(this, id, 'client', process, remote, handlers);
    const localAddress = `${process.host}:${this.allocatePort(process.host)}`;
    this.trace.record(process.owner.nodeId, 'net.connect', { conn: id, to: remote });
    const model = this.modelOf(process.host, remoteHost);
    if (this.blocked.has(linkKey(process.host, remoteHost)) || this.chance(model.loss)) {
      this.clock.schedule(process.owner, this.connectTimeoutMs, () => client.finish({ by: 'error', detail: 'connect timed out' }));
      return client;
    }
    this.clock.schedule(null, this.arrivalDelay(process.host, remoteHost, model), () => {
      const listener = this.listeners.get(remote);
      if (listener === undefined || listener.incarnation !== listener.process.owner.incarnation) {
        this.refuse(client, remoteHost);
        return;
      }
      this.accept(client, listener, localAddress);
    });
    return client;
  }

  private refuse(client: SimConnection, remoteHost: string): void {
    const delay = this.cut(remoteHost, client.process.host)
      ? this.connectTimeoutMs
      : this.sampleLatency(this.modelOf(remoteHost, client.process.host));
    this.clock.schedule(client.process.owner, delay, () => client.finish({ by: 'error', detail: 'connection refused' }));
  }

  private accept(client: SimConnection, listener: SimListener, clientAddress: string): void {
    const serverProcess = listener.process;
    const server = new SimConnection(this, client.id, 'server', serverProcess, clientAddress, {});
    server.peer = client;
    client.peer = server;
    server.isOpen = true;
    const back = this.modelOf(serverProcess.host, client.process.host);
    const synAckDelay = this.arrivalDelay(serverProcess.host, client.process.host, back);
    // Frames the server sends at once travel behind the handshake's answer, as on TCP.
    server.lastArrivalMs = this.clock.nowMs() + synAckDelay;
    this.clock.schedule(serverProcess.owner, 0, () => {
      this.trace.record(serverProcess.owner.nodeId, 'net.accept', { conn: server.id, from: clientAddress });
      listener.onConnection(server);
    });
    if (this.blocked.has(linkKey(serverProcess.host, client.process.host))) {
      this.clock.schedule(client.process.owner, this.connectTimeoutMs, () => client.finish({ by: 'error', detail: 'connect timed out' }));
      this.watchLiveness(client);
      return;
    }
    this.clock.schedule(client.process.owner, synAckDelay, () => client.opened());
  }

  /** Sends one frame from `from` to its peer through the link model. Called by SimConnection.send. */
  transmit(from: SimConnection, frame: Uint8Array, seq: number): void {
    const to = from.peer;
    const node = from.process.owner.nodeId;
    if (to === null) throw new Error(`sim network: transmit on ${from.id} without a peer`);
    const a = from.process.host;
    const b = to.process.host;
    const model = this.modelOf(a, b);
    const bytes = frameBytes(frame);
    if (this.blocked.has(linkKey(a, b))) {
      this.trace.record(node, 'net.drop', { conn: from.id, side: from.side, seq, bytes, why: 'partition' });
      return;
    }
    if (this.chance(model.loss)) {
      this.trace.record(node, 'net.drop', { conn: from.id, side: from.side, seq, bytes, why: 'loss' });
      return;
    }
    const now = this.clock.nowMs();
    let arrival = now + this.arrivalDelay(a, b, model);
    const reordered = model.reorder > 0 && this.chance(model.reorder);
    if (!reordered) {
      arrival = Math.max(arrival, from.lastArrivalMs);
      from.lastArrivalMs = arrival;
    }
    this.trace.record(node, 'net.send', { conn: from.id, side: from.side, seq, bytes, at: arrival, ...(reordered ? { reordered } : {}) });
    from.inflightBytes += bytes;
    from.inFlight(seq, +1);
    this.clock.schedule(to.process.owner, arrival - now, () => {
      from.inflightBytes -= bytes;
      from.inFlight(seq, -1);
      from.maybeDrain();
      to.arrive(frame, seq, this.blocked.has(linkKey(a, b)));
    });
    if (model.duplicate > 0 && this.chance(model.duplicate)) {
      const again = arrival + this.sampleLatency(model);
      this.trace.record(node, 'net.dup', { conn: from.id, side: from.side, seq, at: again });
      from.inFlight(seq, +1);
      // A duplicate is a second copy: an in-process frame's receiver must not share objects with the first delivery.
      const copy = frame instanceof InProcessFrame ? frame.claim() : frame;
      this.clock.schedule(to.process.owner, again - now, () => {
        from.inFlight(seq, -1);
        to.arrive(copy, seq, this.blocked.has(linkKey(a, b)));
      });
    }
  }

  /** The kernel of a crashed endpoint's host resets the connection: the peer closes one latency later. */
  transmitReset(dead: SimConnection): void {
    const to = dead.peer;
    if (to === null || to.closed) return;
    const a = dead.process.host;
    const b = to.process.host;
    if (this.blocked.has(linkKey(a, b))) return;
    this.clock.schedule(to.process.owner, this.sampleLatency(this.modelOf(a, b)), () => to.finish({ by: 'error', detail: 'connection reset' }));
  }

  /** Carries a close to the peer, behind the frames already in flight. */
  transmitClose(from: SimConnection, detail: string): void {
    const to = from.peer;
    if (to === null || to.closed) return;
    const a = from.process.host;
    const b = to.process.host;
    if (this.blocked.has(linkKey(a, b))) {
      this.clock.schedule(to.process.owner, this.livenessTimeoutMs, () => to.finish({ by: 'error', detail: 'liveness timeout' }));
      return;
    }
    const now = this.clock.nowMs();
    const arrival = Math.max(now + this.arrivalDelay(a, b, this.modelOf(a, b)), from.lastArrivalMs);
    this.clock.schedule(to.process.owner, arrival - now, () => to.finish({ by: 'remote', detail }));
  }

  traceEvent(connection: SimConnection, ev: string, fields?: Record<string, unknown>): void {
    this.trace.record(connection.process.owner.nodeId, ev, { conn: connection.id, side: connection.side, ...fields });
  }

  register(c: SimConnection): void {
    this.live.add(c);
  }

  unregister(c: SimConnection): void {
    this.live.delete(c);
  }

  scheduleFor(c: SimConnection, delayMs: number, fn: () => void): void {
    this.clock.schedule(c.process.owner, delayMs, fn);
  }

  private watchLiveness(c: SimConnection): void {
    this.clock.schedule(null, this.livenessTimeoutMs, () => {
      const peer = c.peer;
      if (c.closed || peer === null || !this.cut(c.process.host, peer.process.host)) return;
      this.clock.schedule(c.process.owner, 0, () => c.finish({ by: 'error', detail: 'liveness timeout' }));
      this.clock.schedule(peer.process.owner, 0, () => peer.finish({ by: 'error', detail: 'liveness timeout' }));
    });
  }

  /** True when either direction between two hosts is cut (pings need both). */
  private cut(a: string, b: string): boolean {
    return this.blocked.has(linkKey(a, b)) || this.blocked.has(linkKey(b, a));
  }

  private arrivalDelay(a: string, b: string, model: LinkModel): number {
    const latency = this.sampleLatency(model);
    const clogged = this.cloggedUntil.get(linkKey(a, b));
    const now = this.clock.nowMs();
    return clogged !== undefined && clogged > now ? clogged - now + latency : latency;
  }

  private sampleLatency(model: LinkModel): number {
    const span = model.latencyMaxMs - model.latencyMinMs;
    return span <= 0 ? model.latencyMinMs : model.latencyMinMs + this.random.int(span + 1);
  }

  private chance(p: number): boolean {
    return p > 0 && this.random.next() < p;
  }

  private allocatePort(host: string): number {
    const port = this.ephemeralPort.get(host) ?? 40_000;
    this.ephemeralPort.set(host, port + 1);
    return port;
  }
}

class SimConnection implements Connection {
  isOpen = false;
  closed = false;
  peer: SimConnection | null = null;
  inflightBytes = 0;
  lastArrivalMs = 0;
  private handlers: ConnectionHandlers;
  private readonly incarnation: number;
  private paused = false;
  private wantDrain = false;
  private sent = 0;
  /** Copies of each frame this side sent that are still on the wire (seq -> copies), for drop accounting. */
  private readonly onWire = new Map<number, number>();
  /** Frames that arrived while paused or before the handshake finished; bounded by what the peer sent. */
  private inbox: Array<{ frame: Uint8Array; seq: number }> = [];

  constructor(
    private readonly net: SimNetwork,
    readonly id: string,
    readonly side: 'client' | 'server',
    readonly process: NetProcess,
    readonly remote: string,
    handlers: ConnectionHandlers,
  ) {
    this.handlers = handlers;
    this.incarnation = process.owner.incarnation;
    net.register(this);
  }

  private get alive(): boolean {
    return this.process.owner.incarnation === this.incarnation;
  }

  bufferedAmount(): number {
    return this.inflightBytes;
  }

  send(frame: Uint8Array): boolean {
    if (!this.isOpen || this.closed || !this.alive) return false;
    // Copy: the caller may reuse its buffer, and the bytes must be the ones sent at this moment. An in-process frame
    // already holds a private copy of its message, taken when it was built; a second send of it gets another.
    this.net.transmit(this, frame instanceof InProcessFrame ? frame.claim() : frame.slice(), this.sent++);
    if (this.inflightBytes > connectionBufferedBytesMax) {
      this.wantDrain = true;
      return false;
    }
    return true;
  }

  pause(): void {
    this.paused = true;
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.net.scheduleFor(this, 0, () => this.flushInbox());
  }

  close(detail = 'closed'): void {
    if (this.closed || !this.alive) return;
    const wasConnected = this.peer !== null;
    this.finish({ by: 'local', detail });
    if (wasConnected) this.net.transmitClose(this, detail);
  }

  setHandlers(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
  }

  /** The handshake completed (client side). */
  opened(): void {
    if (this.closed || !this.alive) {
      // The client gave up or died while the answer was in flight: tell the server the connection is gone.
      if (this.peer !== null && !this.closed) this.net.transmitClose(this, 'client went away');
      return;
    }
    this.isOpen = true;
    this.net.traceEvent(this, 'net.open');
    this.handlers.onOpen?.();
    this.flushInbox();
  }

  arrive(frame: Uint8Array, seq: number, cut: boolean): void {
    if (this.closed || !this.alive) {
      this.net.traceEvent(this, 'net.drop', { seq, bytes: frameBytes(frame), why: 'closed' });
      // A frame reaching a crashed process's socket is answered with a reset (TCP RST), so a sender that missed
      // the crash notice (it fell into a partition) learns of it now instead of writing into the void forever.
      if (!this.alive && !cut) this.net.transmitReset(this);
      return;
    }
    if (cut) {
      this.net.traceEvent(this, 'net.drop', { seq, bytes: frameBytes(frame), why: 'cut-in-flight' });
      return;
    }
    if (this.paused || !this.isOpen) {
      this.inbox.push({ frame, seq });
      return;
    }
    this.net.traceEvent(this, 'net.deliver', { seq, bytes: frameBytes(frame) });
    this.handlers.onFrame?.(frame);
  }

  maybeDrain(): void {
    if (this.wantDrain && this.inflightBytes <= connectionBufferedBytesMax / 2 && !this.closed && this.alive) {
      this.wantDrain = false;
      this.net.scheduleFor(this, 0, () => {
        if (!this.closed) this.handlers.onDrain?.();
      });
    }
  }

  /** Closes this end: onClose exactly once, nothing delivered afterwards. */
  finish(reason: CloseReason): void {
    if (this.closed || !this.alive) return;
    this.closed = true;
    this.isOpen = false;
    this.inbox = [];
    this.net.unregister(this);
    this.net.traceEvent(this, 'net.close', { by: reason.by, detail: reason.detail });
    this.handlers.onClose?.(reason);
  }

  inFlight(seq: number, delta: number): void {
    const n = (this.onWire.get(seq) ?? 0) + delta;
    if (n < 0) throw new Error(`sim network: frame ${this.id}/${this.side}/${seq} left the wire more often than it entered`);
    if (n === 0) this.onWire.delete(seq);
    else this.onWire.set(seq, n);
  }

  /**
   * The owning process crashed: no callbacks ever again. Frames waiting for it (in its inbox, or on the wire from
   * its peer, whose arrival timers died with the incarnation) are traced as dropped so every frame is accounted for.
   */
  die(): void {
    this.closed = true;
    this.isOpen = false;
    for (const { frame, seq } of this.inbox) this.net.traceEvent(this, 'net.drop', { seq, bytes: frameBytes(frame), why: 'crashed' });
    this.inbox = [];
    const peer = this.peer;
    if (peer !== null) {
      for (const [seq, copies] of peer.onWire) {
        for (let k = 0; k < copies; k++) this.net.traceEvent(this, 'net.drop', { seq, why: 'crashed' });
      }
      peer.onWire.clear();
      peer.inflightBytes = 0;
    }
    this.net.unregister(this);
  }

  private flushInbox(): void {
    while (this.inbox.length > 0 && !this.paused && this.isOpen && !this.closed) {
      const next = this.inbox.shift()!;
      this.net.traceEvent(this, 'net.deliver', { seq: next.seq, bytes: frameBytes(next.frame) });
      this.handlers.onFrame?.(next.frame);
    }
  }
}

/** A frame's size on the wire: its length, or for an in-process frame the estimate of its encoded size. */
function frameBytes(frame: Uint8Array): number {
  return frame instanceof InProcessFrame ? frame.sizeBytes : frame.length;
}

function linkKey(from: string, to: string): string {
  return `${from}>${to}`;
}

function checkModel(model: LinkModel): LinkModel {
  for (const p of ['loss', 'duplicate', 'reorder'] as const) {
    if (!(model[p] >= 0 && model[p] <= 1)) throw new RangeError(`link model: ${p} must be in [0, 1], got ${model[p]}`);
  }
  if (!(model.latencyMinMs >= 0 && model.latencyMaxMs >= model.latencyMinMs)) {
    throw new RangeError(`link model: need 0 <= latencyMinMs <= latencyMaxMs, got ${model.latencyMinMs}..${model.latencyMaxMs}`);
  }
  return model;
}
