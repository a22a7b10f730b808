// The Network port: message-framed, connection-oriented transport between nodes and clients. Real: WebSocket
// binary messages over TCP (`ws`). Simulated: in-memory links that may delay, drop, duplicate or reorder frames and
// be partitioned — so protocol code above this port must survive all of those (correlation ids, timeouts, retries).
//
// Addresses are "host:port" strings in both worlds. Frames are opaque bytes here; src/wire/ gives them meaning.

export interface ConnectionHandlers {
  /** The connection is open and frames may be sent (client side; server-side connections arrive open). */
  onOpen?: () => void;
  /** One whole frame arrived. */
  onFrame?: (frame: Uint8Array) => void;
  /** Buffered outbound bytes fell back below the low-water mark after `send` returned false. */
  onDrain?: () => void;
  /** The connection is gone. Fired exactly once; no frames arrive after it. */
  onClose?: (reason: CloseReason) => void;
}

export interface CloseReason {
  /** 'local' when we closed it; 'remote' when the peer did; 'error' for transport failure or liveness timeout. */
  by: 'local' | 'remote' | 'error';
  detail: string;
  /**
   * Set when the transport itself closed the connection because the peer broke the framing protocol: a frame over
   * the size limit (MESSAGE_TOO_LARGE) or one that is not a well-formed binary frame (CORRUPT_MESSAGE). Such frames
   * never reach the wire layer, so this is how it still counts them.
   */
  protocolError?: 'MESSAGE_TOO_LARGE' | 'CORRUPT_MESSAGE';
}

export interface Connection {
  /** Unique per network instance (stable in the simulator: it appears in traces). */
  readonly id: string;
  /** The address of the other end as seen by this side. */
  readonly remote: string;
  readonly isOpen: boolean;
  /** Bytes accepted by `send` but not yet handed to the transport. */
  bufferedAmount(): number;
  /**
   * Queues a frame. Returns false when buffered bytes exceed the high-water mark: the caller should stop sending
   * until `onDrain`. Sending on a closed connection is a no-op that returns false.
   */
  send(frame: Uint8Array): boolean;
  /**
   * Queues ONE frame whose bytes are `parts` back to back, without joining them first (a vectored write: a fetch
   * response's stored record batches go to the socket as they are, behind a small encoded head). The peer receives
   * exactly what `send(concat(parts))` would deliver. Optional: a caller falls back to `send` of the joined bytes
   * (`sendFrameParts` below does both). Same return value and backpressure rule as `send`.
   */
  sendParts?(parts: readonly Uint8Array[]): boolean;
  /** Stops delivering inbound frames until `resume` (backpressure towards a fast peer). */
  pause(): void;
  resume(): void;
  close(detail?: string): void;
  /** Replaces the handlers (a connection has one owner at a time). */
  setHandlers(handlers: ConnectionHandlers): void;
}

export interface Listener {
  /** The bound address; with port 0 requested, the port actually chosen. */
  readonly address: string;
  close(): Promise<void>;
}

export interface ListenOptions {
  host: string;
  port: number;
}

export interface Network {
  /** Accepts inbound connections at `host:port`; rejects with AddressInUseError when taken. */
  listen(options: ListenOptions, onConnection: (connection: Connection) => void): Promise<Listener>;
  /** Starts connecting to `address` ("host:port"). The connection fires onOpen or onClose. */
  connect(address: string, handlers: ConnectionHandlers): Connection;
}

/** The length of the frame whose bytes are `parts` back to back. */
export function frameBytesOf(parts: readonly Uint8Array[]): number {
  let bytes = 0;
  for (const part of parts) bytes += part.byteLength;
  return bytes;
}

/** Sends `parts` as one frame: vectored where the connection can, else joined into one buffer. */
export function sendFrameParts(connection: Connection, parts: readonly Uint8Array[]): boolean {
  if (parts.length === 1) return connection.send(parts[0]!);
  if (connection.sendParts !== undefined) return connection.sendParts(parts);
  return connection.send(Buffer.concat(parts));
}

/** Splits "host:port"; throws a TypeError naming the bad value when it is not one. */
export function parseAddress(address: string): { host: string; port: number } {
  const i = address.lastIndexOf(':');
  const host = i > 0 ? address.slice(0, i) : '';
  const port = i > 0 ? Number(address.slice(i + 1)) : Number.NaN;
  if (host.length === 0 || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new TypeError(`not a host:port address: ${JSON.stringify(address)}`);
  }
  return { host: host.replace(/^\[(.*)\]$/, '$1'), port };
}
