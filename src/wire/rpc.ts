// The RPC client: requests over one Connection, matched to responses by correlation id. Invariants: every request
// settles exactly once (response, server error, REQUEST_TIMED_OUT, or NETWORK_EXCEPTION when the connection goes),
// and at most `inFlightMax` requests are outstanding — one more is refused at once with THROTTLING_QUOTA_EXCEEDED
// (retriable) instead of queueing without bound. Timers run on the Clock port, so it works under the simulator.
import { inFlightRequestsMax, requestTimeoutMsDefault } from '../limits.js';
import type { Clock, TimerHandle } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import { silentLogger } from '../runtime/logger.js';
import { frameBytesOf, sendFrameParts, type CloseReason, type Connection } from '../runtime/network.js';
import type { ApiMap, RequestApiName, RequestIn, ResponseOut } from './api.js';
import { receivedErrorCode } from './envelope.js';
import { NotControllerError, RaftlineError } from './errors.js';
import type { WireMetrics } from './metrics.js';
import { noopWireMetrics } from './metrics.js';
import type { DecodedEvent, Registry } from './registry.js';

export interface RpcClientOptions<M extends ApiMap> {
  registry: Registry<M>;
  clock: Clock;
  log?: Logger;
  metrics?: WireMetrics;
  /** Outstanding requests allowed (at most limits.inFlightRequestsMax). */
  inFlightMax?: number;
  timeoutMsDefault?: number;
  /** Validated 'event' frames pushed by the peer. */
  onEvent?: (event: DecodedEvent<M>) => void;
  /** The connection closed; every outstanding request has already been rejected. */
  onClose?: (reason: CloseReason) => void;
}

export interface RequestOptions {
  timeoutMs?: number;
}

interface Pending {
  api: string;
  startedMs: number;
  resolve: (body: unknown) => void;
  reject: (error: RaftlineError) => void;
  timer: TimerHandle;
  /** The encoded request (its parts) while it waits in the outbox (not yet handed to the connection). */
  frame: Uint8Array[] | undefined;
}

/**
 * Owns a Connection's handlers from construction on. Requests made before the connection opens, or while the
 * transport reports backpressure, wait in an outbox (bounded by inFlightMax) and go out on open / drain.
 */
export class RpcClient<M extends ApiMap> {
  private readonly registry: Registry<M>;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly metrics: WireMetrics;
  private readonly inFlightMax: number;
  private readonly timeoutMsDefault: number;
  private readonly pending = new Map<number, Pending>();
  private readonly outbox: number[] = [];
  /** Frames of one-way sends waiting in the outbox (they have no Pending entry). */
  private readonly oneWay = new Map<number, Uint8Array[]>();
  private nextCid = 0;
  private blocked = false;
  private closedDetail: string | undefined;

  constructor(
    readonly connection: Connection,
    private readonly options: RpcClientOptions<M>,
  ) {
    this.registry = options.registry;
    this.clock = options.clock;
    this.log = (options.log ?? silentLogger).child({ conn: connection.id, remote: connection.remote });
    this.metrics = options.metrics ?? noopWireMetrics;
    this.inFlightMax = options.inFlightMax ?? inFlightRequestsMax;
    this.timeoutMsDefault = options.timeoutMsDefault ?? requestTimeoutMsDefault;
    if (!Number.isSafeInteger(this.inFlightMax) || this.inFlightMax <= 0 || this.inFlightMax > inFlightRequestsMax) {
      throw new RangeError(`rpc: inFlightMax must be in [1, ${inFlightRequestsMax}], got ${this.inFlightMax}`);
    }
    connection.setHandlers({
      onOpen: () => this.flush(),
      onFrame: (frame) => this.onFrame(frame),
      onDrain: () => {
        this.blocked = false;
        this.flush();
      },
      onClose: (reason) => this.onClose(reason),
    });
  }

  /** Requests awaiting their response. */
  get inFlight(): number {
    return this.pending.size;
  }

  get isClosed(): boolean {
    return this.closedDetail !== undefined;
  }

  request<K extends RequestApiName<M>>(api: K, body: RequestIn<M, K>, options: RequestOptions = {}): Promise<ResponseOut<M, K>> {
    if (this.closedDetail !== undefined) {
      return Promise.reject(new RaftlineError('NETWORK_EXCEPTION', `${api}: ${this.closedDetail}`));
    }
    if (this.pending.size >= this.inFlightMax) {
      return Promise.reject(new RaftlineError('THROTTLING_QUOTA_EXCEEDED', `${api}: ${this.pending.size} requests already in flight`));
    }
    const timeoutMs = options.timeoutMs ?? this.timeoutMsDefault;
    if (!(timeoutMs >= 0)) return Promise.reject(new RangeError(`rpc: timeoutMs must be >= 0, got ${timeoutMs}`));
    const cid = this.nextCid++;
    if (!Number.isSafeInteger(cid)) throw new Error('rpc: correlation ids exhausted');
    let frame: Uint8Array[];
    try {
      // Parts: record batches in the body are not copied into the encoding (the transport copies them once, masking).
      frame = this.registry.encodeRequestParts(api, cid, body);
    } catch (error) {
      if (error instanceof RaftlineError) return Promise.reject(error);
      return Promise.reject(new RaftlineError('INVALID_REQUEST', `${api}: the body cannot be encoded`, { cause: error }));
    }
    return new Promise<ResponseOut<M, K>>((resolve, reject) => {
      const timer = this.clock.setTimeout(() => this.onTimeout(cid, timeoutMs), timeoutMs);
      this.pending.set(cid, {
        api,
        startedMs: this.clock.monotonicMs(),
        resolve: resolve as (body: unknown) => void,
        reject,
        timer,
        frame: undefined,
      });
      if (this.outbox.length === 0 && !this.blocked && this.connection.isOpen) {
        this.transmit(frame);
      } else {
        (this.pending.get(cid) as Pending).frame = frame;
        this.outbox.push(cid);
      }
    });
  }

  /**
   * Fire and forget: sends a request whose server answers nothing (a `data.produce` with acks=0; the handler returns
   * `noResponse`). No in-flight slot, no timeout; a response that arrives anyway (say, a rejection of a malformed
   * frame) finds nothing waiting and is dropped. Throws NETWORK_EXCEPTION once the client is closed, and the encoder's
   * error (MESSAGE_TOO_LARGE) for a body that cannot go out. A frame made while the connection is not yet open, or is
   * backpressured, waits in the outbox like a request's.
   */
  send<K extends RequestApiName<M>>(api: K, body: RequestIn<M, K>): void {
    if (this.closedDetail !== undefined) throw new RaftlineError('NETWORK_EXCEPTION', `${api}: ${this.closedDetail}`);
    const cid = this.nextCid++;
    if (!Number.isSafeInteger(cid)) throw new Error('rpc: correlation ids exhausted');
    const frame = this.registry.encodeRequestParts(api, cid, body);
    if (this.outbox.length === 0 && !this.blocked && this.connection.isOpen) {
      this.transmit(frame);
      return;
    }
    if (this.oneWay.size + this.outbox.length >= this.inFlightMax) {
      throw new RaftlineError('THROTTLING_QUOTA_EXCEEDED', `${api}: the outbox is full`);
    }
    this.oneWay.set(cid, frame);
    this.outbox.push(cid);
  }

  /** Closes the connection; outstanding requests fail with NETWORK_EXCEPTION now. */
  close(detail = 'rpc client closed'): void {
    if (this.closedDetail !== undefined) return;
    this.failAll(`connection closed locally: ${detail}`);
    this.connection.close(detail);
  }

  private transmit(frame: readonly Uint8Array[]): void {
    this.metrics.frameOut(frameBytesOf(frame));
    // false means the transport took the frame but is over its high-water mark: hold the rest until onDrain.
    if (!sendFrameParts(this.connection, frame)) this.blocked = true;
  }

  private flush(): void {
    while (this.outbox.length > 0 && !this.blocked && this.connection.isOpen) {
      const cid = this.outbox.shift() as number;
      const oneWay = this.oneWay.get(cid);
      if (oneWay !== undefined) {
        this.oneWay.delete(cid);
        this.transmit(oneWay);
        continue;
      }
      const entry = this.pending.get(cid);
      // A request that timed out while waiting here is simply dropped.
      if (entry?.frame === undefined) continue;
      const frame = entry.frame;
      entry.frame = undefined;
      this.transmit(frame);
    }
  }

  private settle(cid: number): Pending | undefined {
    const entry = this.pending.get(cid);
    if (entry === undefined) return undefined;
    this.pending.delete(cid);
    this.clock.clearTimeout(entry.timer);
    return entry;
  }

  private onTimeout(cid: number, timeoutMs: number): void {
    const entry = this.pending.get(cid);
    if (entry === undefined) return;
    this.pending.delete(cid);
    this.metrics.requestCompleted(entry.api, 'REQUEST_TIMED_OUT', this.clock.monotonicMs() - entry.startedMs);
    entry.reject(new RaftlineError('REQUEST_TIMED_OUT', `${entry.api} (cid ${cid}) got no response within ${timeoutMs} ms`));
  }

  private onFrame(frame: Uint8Array): void {
    this.metrics.frameIn(frame.byteLength);
    const decoded = this.registry.decodeEnvelope(frame);
    if (!decoded.ok) {
      const { rejection } = decoded;
      this.metrics.frameRejected(rejection.code);
      const entry = rejection.cid === undefined ? undefined : this.settle(rejection.cid);
      if (entry !== undefined) {
        this.complete(entry, new RaftlineError('CORRUPT_MESSAGE', `${entry.api}: bad response frame: ${rejection.reason}`));
        return;
      }
      // Without a correlation id nothing can be matched: the peer is speaking garbage, so stop listening to it.
      this.log.warn({ code: rejection.code, reason: rejection.reason }, 'rpc: undecodable frame from peer, closing');
      this.close(`undecodable frame: ${rejection.reason}`);
      return;
    }
    const envelope = decoded.value;
    switch (envelope.kind) {
      case 'response': {
        const entry = this.settle(envelope.cid);
        if (entry === undefined) {
          // A response after its request timed out (or a duplicate): nothing waits for it.
          this.log.debug({ api: envelope.api, cid: envelope.cid }, 'rpc: response without a waiting request');
          return;
        }
        const parsed = this.registry.parseResponse(entry.api as RequestApiName<M>, envelope);
        if (!parsed.ok) {
          this.metrics.frameRejected(parsed.rejection.code);
          this.complete(entry, new RaftlineError('CORRUPT_MESSAGE', parsed.rejection.reason));
        } else if (parsed.value.error !== undefined) {
          const { error } = parsed.value;
          const code = receivedErrorCode(error);
          // The envelope schema validated `leaderId` (a non-negative int32) when present.
          const leaderId = (error as { leaderId?: number }).leaderId;
          this.complete(entry, code === 'NOT_CONTROLLER' && leaderId !== undefined ? new NotControllerError(error.message, leaderId) : new RaftlineError(code, error.message));
        } else {
          this.complete(entry, parsed.value.body);
        }
        return;
      }
      case 'event': {
        const parsed = this.registry.parseEvent(envelope);
        if (!parsed.ok) {
          this.metrics.frameRejected(parsed.rejection.code);
          this.log.warn({ api: envelope.api, reason: parsed.rejection.reason }, 'rpc: invalid event dropped');
          return;
        }
        this.options.onEvent?.(parsed.value);
        return;
      }
      case 'request':
        this.metrics.frameRejected('INVALID_REQUEST');
        this.log.warn({ api: envelope.api }, 'rpc: a client connection does not serve requests; dropped');
        return;
    }
  }

  private complete(entry: Pending, result: unknown): void {
    const latencyMs = this.clock.monotonicMs() - entry.startedMs;
    if (result instanceof RaftlineError) {
      this.metrics.requestCompleted(entry.api, result.code, latencyMs);
      entry.reject(result);
    } else {
      this.metrics.requestCompleted(entry.api, 'ok', latencyMs);
      entry.resolve(result);
    }
  }

  private failAll(detail: string): void {
    this.closedDetail ??= detail;
    this.outbox.length = 0;
    this.oneWay.clear();
    for (const cid of [...this.pending.keys()]) {
      const entry = this.settle(cid) as Pending;
      this.complete(entry, new RaftlineError('NETWORK_EXCEPTION', `${entry.api} (cid ${cid}): ${detail}`));
    }
  }

  private onClose(reason: CloseReason): void {
    this.failAll(`connection closed (${reason.by}): ${reason.detail}`);
    this.options.onClose?.(reason);
  }
}
