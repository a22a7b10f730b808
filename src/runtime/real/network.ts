// The real Network: WebSocket binary messages over TCP, with `ws` (bufferutil speeds up masking when installed).
// Invariants: a connection delivers only whole binary frames no larger than frameBytesMax, never delivers a frame
// after onClose, fires onClose exactly once, and never holds more than connectionsMax inbound connections.
//
// Design: a server side is a `ws` server in noServer mode attached to a node:http Server's 'upgrade' event.
// `listen({ host, port })` creates a dedicated HTTP server (plain HTTP requests get 426 Upgrade Required) and
// attaches to it; `attach(server, onConnection)` attaches to a server someone else owns — the broker serves
// /metrics, /healthz and the WebSocket on one port that way. Both count against one connectionsMax.
import { randomFillSync } from 'node:crypto';
import * as http from 'node:http';
import { createRequire } from 'node:module';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer, type RawData } from 'ws';
import {
  closeGraceMs,
  connectionBufferedBytesMax,
  connectionDrainBytesLow,
  connectionsMax,
  connectTimeoutMs,
  frameBytesMax,
  pausedFramesMax,
  pingIntervalMs,
  pingMissedMax,
} from '../../limits.js';
import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import type { CloseReason, Connection, ConnectionHandlers, Listener, ListenOptions, Network } from '../network.js';
import { frameBytesOf, parseAddress } from '../network.js';
import { AddressInUseError } from '../errors.js';

export interface RealNetworkOptions {
  /** Largest frame accepted or sent; larger inbound frames close the connection (WebSocket code 1009). */
  frameBytesMax?: number;
  /** `send` returns false while buffered outbound bytes exceed this. */
  bufferedBytesMax?: number;
  /** onDrain fires when buffered outbound bytes fall to this after `send` returned false. */
  drainBytesLow?: number;
  /** A ping goes out every interval; after `pingMissedMax` unanswered ones the peer is taken for dead. */
  pingIntervalMs?: number;
  pingMissedMax?: number;
  /** Inbound connections held at once (open plus handshaking); more are refused with HTTP 503. */
  connectionsMax?: number;
  connectTimeoutMs?: number;
  closeGraceMs?: number;
  log?: Logger;
}

export interface AttachOptions {
  /** Only upgrades to this URL path are taken (others get 404); by default every path is. */
  path?: string;
}

export interface RealNetwork extends Network {
  /**
   * Serves WebSocket connections on an HTTP server owned by the caller (listening or not yet). Closing the
   * returned Listener closes the connections it accepted and detaches, but leaves the HTTP server running.
   */
  attach(server: http.Server, onConnection: (connection: Connection) => void, options?: AttachOptions): Listener;
  /** Inbound connections open or handshaking now. */
  inboundConnections(): number;
}

interface Config {
  frameBytesMax: number;
  bufferedBytesMax: number;
  drainBytesLow: number;
  pingIntervalMs: number;
  pingMissedMax: number;
  connectionsMax: number;
  connectTimeoutMs: number;
  closeGraceMs: number;
}

function positiveInt(name: string, value: number): number {
  if (!Number.isSafeInteger(value) || value <= 0) throw new RangeError(`network: ${name} must be a positive integer, got ${value}`);
  return value;
}

const noop = (): void => {};

function formatAddress(host: string | undefined, port: number | undefined): string {
  const h = host ?? 'unknown';
  return `${h.includes(':') ? `[${h}]` : h}:${port ?? 0}`;
}

class WsConnection implements Connection {
  private handlers: ConnectionHandlers;
  private closing = false;
  private closeFired = false;
  private pendingReason: CloseReason | undefined;
  private wantDrain = false;
  private paused = false;
  private held: Buffer[] = [];
  private missedPongs = 0;
  private pingTimer: ReturnType<typeof setInterval> | undefined;
  private graceTimer: ReturnType<typeof setTimeout> | undefined;
  private readonly onWritten = (): void => this.checkDrain();

  constructor(
    readonly id: string,
    readonly remote: string,
    private readonly ws: WebSocket,
    private readonly config: Config,
    handlers: ConnectionHandlers,
    private readonly onGone: (connection: WsConnection) => void,
    /** Server side: frames go out unmasked (RFC 6455 §5.1), so `sendParts` may write them itself. */
    private readonly serverSide = false,
  ) {
    this.handlers = handlers;
    ws.binaryType = 'nodebuffer';
    ws.on('message', (data: RawData, isBinary: boolean) => this.onMessage(data, isBinary));
    ws.on('pong', () => {
      this.missedPongs = 0;
    });
    ws.on('error', (error: Error & { code?: string }) => {
      // ws reports framing violations as errors whose code starts with WS_ERR_, then closes (1009 for size).
      const protocolError =
        error.code === 'WS_ERR_UNSUPPORTED_MESSAGE_LENGTH' ? 'MESSAGE_TOO_LARGE' : error.code?.startsWith('WS_ERR_') ? 'CORRUPT_MESSAGE' : undefined;
      this.pendingReason ??= protocolError ? { by: 'error', detail: error.message, protocolError } : { by: 'error', detail: error.message };
    });
    ws.on('close', (code: number, reason: Buffer) => this.onWsClose(code, reason));
    if (ws.readyState === WebSocket.OPEN) {
      this.startLiveness();
    } else {
      ws.on('open', () => {
        if (this.closing) return;
        this.startLiveness();
        this.handlers.onOpen?.();
      });
    }
  }

  get isOpen(): boolean {
    return !this.closing && this.ws.readyState === WebSocket.OPEN;
  }

  bufferedAmount(): number {
    return this.ws.bufferedAmount;
  }

  send(frame: Uint8Array): boolean {
    if (!this.isOpen) return false;
    if (frame.byteLength > this.config.frameBytesMax) {
      throw new RangeError(`network: frame of ${frame.byteLength} bytes exceeds frameBytesMax ${this.config.frameBytesMax}`);
    }
    // Ask for a write callback only when near or past the high-water mark: callbacks fire in write order, so the
    // last one sees the buffer empty and onDrain cannot be missed.
    const nearFull = this.wantDrain || this.ws.bufferedAmount + frame.byteLength > this.config.bufferedBytesMax;
    if (nearFull) {
      this.ws.send(frame, { binary: true }, this.onWritten);
    } else {
      this.ws.send(frame, { binary: true });
    }
    if (this.ws.bufferedAmount > this.config.bufferedBytesMax) {
      this.wantDrain = true;
      return false;
    }
    return true;
  }

  sendParts(parts: readonly Uint8Array[]): boolean {
    if (!this.isOpen) return false;
    const total = frameBytesOf(parts);
    if (total > this.config.frameBytesMax) {
      throw new RangeError(`network: frame of ${total} bytes exceeds frameBytesMax ${this.config.frameBytesMax}`);
    }
    const socket = this.directSocket();
    // ws may be holding frames back (it never is with our options, but then its order must win): join and send.
    if (socket === undefined) return this.send(Buffer.concat(parts, total));
    const nearFull = this.wantDrain || this.ws.bufferedAmount + total > this.config.bufferedBytesMax;
    if (!this.serverSide) {
      // A client must mask its frames (RFC 6455 §5.3), which copies every byte whatever we do: mask the parts
      // straight into the one output buffer, the only copy (ws would copy a joined frame a second time).
      const frame = maskedBinaryFrame(parts, total);
      if (nearFull) socket.write(frame, this.onWritten);
      else socket.write(frame);
    } else {
      this.writeUnmasked(socket, parts, total, nearFull);
    }
    if (this.ws.bufferedAmount > this.config.bufferedBytesMax) {
      this.wantDrain = true;
      return false;
    }
    return true;
  }

  private writeUnmasked(socket: Duplex, parts: readonly Uint8Array[], total: number, nearFull: boolean): void {
    // One WebSocket frame, header written here, payload written part by part: the socket gathers them in one writev
    // (corked), and no part is copied into a joined buffer.
    socket.cork();
    socket.write(binaryFrameHeader(total));
    const last = parts.length - 1;
    for (let i = 0; i <= last; i++) {
      const part = parts[i]!;
      if (i === last && nearFull) socket.write(part, this.onWritten);
      else if (part.byteLength > 0) socket.write(part);
    }
    socket.uncork();
  }

  /**
   * The TCP socket under the ws connection, when writing to it directly keeps the byte stream in order:
   * ws's sender is not holding anything back (it queues only while compressing, which is off, or reading a Blob,
   * which we never send), so everything it wrote is already in the socket ahead of us. Undefined otherwise.
   */
  private directSocket(): Duplex | undefined {
    const internals = this.ws as unknown as { _socket?: Duplex | null; _sender?: { _state?: unknown; _queue?: unknown[] } | null };
    const sender = internals._sender;
    const socket = internals._socket;
    if (sender === null || sender === undefined || sender._state !== 0 || !Array.isArray(sender._queue) || sender._queue.length !== 0) return undefined;
    if (socket === null || socket === undefined || socket.destroyed || !socket.writable) return undefined;
    return socket;
  }

  private checkDrain(): void {
    if (!this.wantDrain || this.closing || this.ws.bufferedAmount > this.config.drainBytesLow) return;
    this.wantDrain = false;
    this.handlers.onDrain?.();
  }

  pause(): void {
    if (this.paused) return;
    this.paused = true;
    this.ws.pause();
  }

  resume(): void {
    if (!this.paused) return;
    this.paused = false;
    this.ws.resume();
    // Frames the transport had parsed before the pause took effect go out first, in order; a handler may pause
    // again mid-way, which stops the loop.
    while (this.held.length > 0 && !this.paused && !this.closing) {
      const frame = this.held.shift() as Buffer;
      this.handlers.onFrame?.(frame);
    }
  }

  close(detail = 'closed locally'): void {
    if (this.closing || this.closeFired) return;
    this.pendingReason ??= { by: 'local', detail };
    this.beginClose(1000, detail);
  }

  setHandlers(handlers: ConnectionHandlers): void {
    this.handlers = handlers;
  }

  private onMessage(data: RawData, isBinary: boolean): void {
    if (this.closing) return;
    this.missedPongs = 0;
    if (!isBinary) {
      this.fail(1003, 'protocol error: text frame (only binary frames are accepted)');
      return;
    }
    // binaryType 'nodebuffer' delivers one Buffer per message (fragments are joined by ws).
    const frame = data as Buffer;
    if (this.paused) {
      if (this.held.length >= pausedFramesMax) {
        this.fail(1008, `protocol error: more than ${pausedFramesMax} frames arrived while paused`);
        return;
      }
      this.held.push(frame);
      return;
    }
    this.handlers.onFrame?.(frame);
  }

  /** Closes because the peer or the transport misbehaved: onClose reports by 'error'. */
  private fail(code: number, detail: string): void {
    if (this.closing || this.closeFired) return;
    // 1003 (unsupported data: a text frame) is a framing violation by the peer; 1008 (policy) is not.
    this.pendingReason ??= code === 1003 ? { by: 'error', detail, protocolError: 'CORRUPT_MESSAGE' } : { by: 'error', detail };
    this.beginClose(code, detail);
  }

  private beginClose(code: number, detail: string): void {
    this.closing = true;
    this.held = [];
    this.stopLiveness();
    if (this.ws.readyState === WebSocket.CONNECTING || this.ws.readyState === WebSocket.OPEN) {
      // A close reason travels in a control frame of at most 125 bytes.
      this.ws.close(code, Buffer.from(detail).subarray(0, 123).toString());
    }
    // A peer that never answers the closing handshake must not hold the socket for ws's default 30 s.
    this.graceTimer = setTimeout(() => this.ws.terminate(), this.config.closeGraceMs);
  }

  private startLiveness(): void {
    this.pingTimer = setInterval(() => {
      // A paused connection does not read, so it cannot see pongs either: liveness waits for resume.
      if (this.paused || this.closing) return;
      if (this.missedPongs >= this.config.pingMissedMax) {
        this.pendingReason ??= { by: 'error', detail: `liveness: ${this.missedPongs} pings unanswered` };
        this.closing = true;
        this.held = [];
        this.stopLiveness();
        this.ws.terminate();
        return;
      }
      this.missedPongs++;
      this.ws.ping();
    }, this.config.pingIntervalMs);
  }

  private stopLiveness(): void {
    if (this.pingTimer !== undefined) clearInterval(this.pingTimer);
    this.pingTimer = undefined;
  }

  private onWsClose(code: number, reason: Buffer): void {
    if (this.closeFired) return;
    this.closeFired = true;
    this.closing = true;
    this.held = [];
    this.stopLiveness();
    if (this.graceTimer !== undefined) clearTimeout(this.graceTimer);
    const text = reason.toString();
    const closeReason: CloseReason =
      this.pendingReason ??
      (code === 1006
        ? { by: 'error', detail: 'connection lost (abnormal closure)' }
        : code === 1000 || code === 1001 || code === 1005
          ? { by: 'remote', detail: text.length > 0 ? text : `closed by peer (code ${code})` }
          : { by: 'error', detail: `peer closed with code ${code}${text.length > 0 ? `: ${text}` : ''}` });
    this.onGone(this);
    this.handlers.onClose?.(closeReason);
  }
}

type MaskFn = (source: Uint8Array, mask: Uint8Array, output: Uint8Array, offset: number, length: number) => void;

/** XORs `length` bytes of `source` with the 4-byte `mask` (from its first byte) into `output` at `offset`. */
const maskInto: MaskFn = (() => {
  try {
    // ws's optional native helper, already a dependency; the loop below is its portable equivalent.
    const native = createRequire(import.meta.url)('bufferutil') as { mask?: MaskFn };
    if (typeof native.mask === 'function') return native.mask;
  } catch {
    // not installed or not loadable here
  }
  return (source, mask, output, offset, length) => {
    for (let i = 0; i < length; i++) output[offset + i] = source[i]! ^ mask[i & 3]!;
  };
})();

/**
 * One masked, final, binary WebSocket frame (RFC 6455 §5.2, §5.3: a client's frames carry a fresh random masking key)
 * whose payload is `parts` back to back, each masked from where it starts in the payload.
 */
function maskedBinaryFrame(parts: readonly Uint8Array[], total: number): Buffer {
  const lengthBytes = total < 126 ? 0 : total < 0x10000 ? 2 : 8;
  const head = 2 + lengthBytes + 4;
  const frame = Buffer.allocUnsafe(head + total);
  frame[0] = 0x82;
  if (lengthBytes === 0) frame[1] = 0x80 | total;
  else if (lengthBytes === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(total, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(total / 0x1_0000_0000), 2);
    frame.writeUInt32BE(total >>> 0, 6);
  }
  const key = frame.subarray(head - 4, head);
  randomFillSync(key);
  const rotated = Buffer.allocUnsafe(4);
  let at = 0;
  for (const part of parts) {
    // The key applies to payload byte i as key[i % 4]: a part starting at `at` starts at that phase of it.
    for (let k = 0; k < 4; k++) rotated[k] = key[(at + k) & 3]!;
    maskInto(part, rotated, frame, head + at, part.byteLength);
    at += part.byteLength;
  }
  if (at !== total) throw new Error(`network: masked ${at} payload bytes, expected ${total}`);
  return frame;
}

/** The header of one unmasked, final, binary WebSocket frame of `length` payload bytes (RFC 6455 §5.2). */
function binaryFrameHeader(length: number): Buffer {
  if (length < 126) return Buffer.from([0x82, length]);
  if (length < 0x10000) {
    const h = Buffer.alloc(4);
    h[0] = 0x82;
    h[1] = 126;
    h.writeUInt16BE(length, 2);
    return h;
  }
  const h = Buffer.alloc(10);
  h[0] = 0x82;
  h[1] = 127;
  h.writeUInt32BE(Math.floor(length / 0x1_0000_0000), 2);
  h.writeUInt32BE(length >>> 0, 6);
  return h;
}

function rejectUpgrade(socket: Duplex, status: number, message: string): void {
  socket.end(`HTTP/1.1 ${status} ${message}\r\nConnection: close\r\nContent-Length: 0\r\n\r\n`);
  socket.destroy();
}

function closeHttpServer(server: http.Server): Promise<void> {
  return new Promise((resolve) => {
    server.close(() => resolve());
    server.closeAllConnections();
  });
}

class WsNetwork implements RealNetwork {
  private readonly config: Config;
  private readonly log: Logger;
  private sequence = 0;
  private inbound = 0;

  constructor(options: RealNetworkOptions) {
    this.config = {
      frameBytesMax: positiveInt('frameBytesMax', options.frameBytesMax ?? frameBytesMax),
      bufferedBytesMax: positiveInt('bufferedBytesMax', options.bufferedBytesMax ?? connectionBufferedBytesMax),
      drainBytesLow: options.drainBytesLow ?? connectionDrainBytesLow,
      pingIntervalMs: positiveInt('pingIntervalMs', options.pingIntervalMs ?? pingIntervalMs),
      pingMissedMax: positiveInt('pingMissedMax', options.pingMissedMax ?? pingMissedMax),
      connectionsMax: positiveInt('connectionsMax', options.connectionsMax ?? connectionsMax),
      connectTimeoutMs: positiveInt('connectTimeoutMs', options.connectTimeoutMs ?? connectTimeoutMs),
      closeGraceMs: positiveInt('closeGraceMs', options.closeGraceMs ?? closeGraceMs),
    };
    if (!(this.config.drainBytesLow >= 0 && this.config.drainBytesLow < this.config.bufferedBytesMax)) {
      throw new RangeError(`network: drainBytesLow (${this.config.drainBytesLow}) must be below bufferedBytesMax`);
    }
    if (this.config.frameBytesMax > frameBytesMax) {
      throw new RangeError(`network: frameBytesMax may not exceed ${frameBytesMax}`);
    }
    this.log = options.log ?? silentLogger;
  }

  inboundConnections(): number {
    return this.inbound;
  }

  async listen(options: ListenOptions, onConnection: (connection: Connection) => void): Promise<Listener> {
    const server = http.createServer((_request, response) => {
      response.writeHead(426, { 'content-type': 'text/plain', upgrade: 'websocket' });
      response.end('this port speaks WebSocket only\n');
    });
    const wanted = formatAddress(options.host, options.port);
    await new Promise<void>((resolve, reject) => {
      const onError = (error: NodeJS.ErrnoException): void => {
        reject(error.code === 'EADDRINUSE' ? new AddressInUseError(wanted, { cause: error }) : error);
      };
      server.once('error', onError);
      server.listen(options.port, options.host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (error) => this.log.error({ err: error, address: wanted }, 'network: listener error'));
    const attached = this.attach(server, onConnection);
    return {
      get address() {
        return attached.address;
      },
      close: async () => {
        await attached.close();
        await closeHttpServer(server);
      },
    };
  }

  attach(server: http.Server, onConnection: (connection: Connection) => void, options: AttachOptions = {}): Listener {
    const wss = new WebSocketServer({
      noServer: true,
      maxPayload: this.config.frameBytesMax,
      perMessageDeflate: false,
      clientTracking: false,
    });
    const accepted = new Set<WsConnection>();
    const gone = new Map<WsConnection, () => void>();
    let closed = false;

    const onUpgrade = (request: http.IncomingMessage, socket: Duplex, head: Buffer): void => {
      if (closed) return;
      if (options.path !== undefined && new URL(request.url ?? '/', 'http://x').pathname !== options.path) {
        rejectUpgrade(socket, 404, 'Not Found');
        return;
      }
      if (this.inbound >= this.config.connectionsMax) {
        this.log.warn({ connectionsMax: this.config.connectionsMax }, 'network: connection refused, connectionsMax reached');
        rejectUpgrade(socket, 503, 'Service Unavailable');
        return;
      }
      // Handshakes in progress count too, so a burst of upgrades cannot overshoot connectionsMax.
      this.inbound++;
      let counted = true;
      const release = (): void => {
        if (counted) {
          counted = false;
          this.inbound--;
        }
      };
      socket.once('close', release);
      wss.handleUpgrade(request, socket, head, (ws) => {
        socket.off('close', release);
        if (closed) {
          release();
          ws.terminate();
          return;
        }
        const remote = formatAddress(request.socket.remoteAddress, request.socket.remotePort);
        const connection = new WsConnection(
          `in-${++this.sequence}`,
          remote,
          ws,
          this.config,
          {},
          (c) => {
            release();
            accepted.delete(c);
            gone.get(c)?.();
            gone.delete(c);
          },
          true,
        );
        accepted.add(connection);
        onConnection(connection);
      });
    };
    server.on('upgrade', onUpgrade);

    return {
      get address(): string {
        const bound = server.address();
        if (bound === null || typeof bound === 'string') return bound ?? 'unbound';
        return formatAddress(bound.address, bound.port);
      },
      close: async () => {
        if (closed) return;
        closed = true;
        server.off('upgrade', onUpgrade);
        const waits: Promise<void>[] = [];
        for (const connection of accepted) {
          waits.push(new Promise((resolve) => gone.set(connection, resolve)));
          connection.close('listener closed');
        }
        await Promise.all(waits);
        await new Promise<void>((resolve) => wss.close(() => resolve()));
      },
    };
  }

  connect(address: string, handlers: ConnectionHandlers): Connection {
    const { host, port } = parseAddress(address);
    const ws = new WebSocket(`ws://${formatAddress(host, port)}/`, {
      perMessageDeflate: false,
      maxPayload: this.config.frameBytesMax,
      handshakeTimeout: this.config.connectTimeoutMs,
    });
    return new WsConnection(`out-${++this.sequence}`, address, ws, this.config, handlers, noop);
  }
}

/** A Network over WebSocket (`ws`), with the bounds of src/limits.ts unless overridden (specs shorten timers). */
export function createRealNetwork(options: RealNetworkOptions = {}): RealNetwork {
  return new WsNetwork(options);
}
