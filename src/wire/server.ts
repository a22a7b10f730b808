// The request dispatcher of a node: decodes each inbound frame once at the edge and hands typed requests to the
// handler table. Invariants: a malformed frame never reaches a handler and never stops the node; every request
// whose frame had a readable correlation id gets exactly one response (its result or an error code); a handler's
// exception becomes an error response (its RaftlineError code, otherwise UNKNOWN_SERVER_ERROR, logged).
//
// Bad frames: with a readable correlation id (and not marked a response or event), the answer is an error response carrying the rejection's code and
// reason (the connection stays up). Without one (not CBOR, truncated, oversized, not a map, no cid) nothing can be
// answered, so the connection is closed: the peer is not speaking our protocol.
// One-way requests: a handler that returns `noResponse` (produce with acks=0) gets no frame back, by design.
// Flow control: at most `inFlightMax` requests per connection run at once (more get THROTTLING_QUOTA_EXCEEDED);
// when the transport reports backpressure on a response, the connection stops reading until it drains.
import { inFlightRequestsMax } from '../limits.js';
import type { Clock } from '../runtime/clock.js';
import type { Logger } from '../runtime/logger.js';
import type { Connection, Listener, ListenOptions, Network } from '../runtime/network.js';
import { frameBytesOf, sendFrameParts } from '../runtime/network.js';
import type { ApiMap, EventApiName, EventIn, RequestApiName, RequestOut, ResponseIn } from './api.js';
import type { ErrorCode, WireError } from './errors.js';
import { RaftlineError, wireError } from './errors.js';
import type { WireMetrics } from './metrics.js';
import { noopWireMetrics } from './metrics.js';
import type { Registry, Rejection } from './registry.js';

export interface RequestContext<M extends ApiMap> {
  readonly api: string;
  readonly cid: number;
  readonly connectionId: string;
  readonly remote: string;
  /** The connection's logger (bound with conn, remote, api and cid). */
  readonly log: Logger;
  /** Request apis this server has handlers for, sorted (what node.api-versions reports). */
  readonly servedApis: readonly string[];
  /** Pushes an 'event' frame to the requester's connection; false when it is closed or backpressured. */
  emit<K extends EventApiName<M>>(api: K, body: EventIn<M, K>): boolean;
}

/**
 * What a handler returns to send no response frame at all: Kafka's produce with acks=0, whose client does not wait
 * (it sends with `RpcClient.send`). The request still counts as completed (metrics, in-flight slot).
 */
export const noResponse: unique symbol = Symbol('raftline.wire.noResponse');
export type NoResponse = typeof noResponse;

export type Handler<M extends ApiMap, K extends RequestApiName<M>> = (
  body: RequestOut<M, K>,
  context: RequestContext<M>,
) => ResponseIn<M, K> | NoResponse | Promise<ResponseIn<M, K> | NoResponse>;

export type HandlerTable<M extends ApiMap> = { [K in RequestApiName<M>]?: Handler<M, K> };

export interface RpcServerOptions<M extends ApiMap> {
  registry: Registry<M>;
  // NoInfer: the api map comes from the registry; handler tables written for a smaller family (nodeHandlers) fit in.
  handlers: HandlerTable<NoInfer<M>>;
  log: Logger;
  clock: Clock;
  metrics?: WireMetrics;
  /** Requests running at once on one connection (at most limits.inFlightRequestsMax). */
  inFlightMax?: number;
}

export interface RpcServer {
  /** Takes ownership of an inbound connection (use as the Network's onConnection). */
  accept(connection: Connection): void;
  /** Listens with `network` and accepts every connection. */
  listen(network: Network, options: ListenOptions): Promise<Listener>;
  readonly servedApis: readonly string[];
  /** Connections currently served. */
  connections(): number;
}

interface ConnectionState {
  readonly connection: Connection;
  readonly log: Logger;
  inFlight: number;
  blocked: boolean;
  open: boolean;
}

/** The api name put on an error response when the frame's own api could not be read. */
const unknownApi = 'node.unknown';

export function createRpcServer<M extends ApiMap>(options: RpcServerOptions<M>): RpcServer {
  const { registry, clock } = options;
  const metrics = options.metrics ?? noopWireMetrics;
  const inFlightMax = options.inFlightMax ?? inFlightRequestsMax;
  if (!Number.isSafeInteger(inFlightMax) || inFlightMax <= 0 || inFlightMax > inFlightRequestsMax) {
    throw new RangeError(`rpc server: inFlightMax must be in [1, ${inFlightRequestsMax}], got ${inFlightMax}`);
  }
  const handlers = options.handlers as Record<string, Handler<M, RequestApiName<M>> | undefined>;
  for (const api of Object.keys(handlers)) {
    if (!registry.isRequestApi(api)) throw new Error(`rpc server: a handler for ${api}, which is not a request api of the registry`);
  }
  const servedApis = Object.freeze(Object.keys(handlers).filter((api) => handlers[api] !== undefined).sort());
  let open = 0;

  function send(state: ConnectionState, frame: Uint8Array | readonly Uint8Array[]): boolean {
    if (!state.open || !state.connection.isOpen) return false;
    let accepted: boolean;
    if (frame instanceof Uint8Array) {
      metrics.frameOut(frame.byteLength);
      accepted = state.connection.send(frame);
    } else {
      metrics.frameOut(frameBytesOf(frame));
      accepted = sendFrameParts(state.connection, frame);
    }
    if (!accepted && !state.blocked && state.connection.isOpen) {
      // The peer is not reading our responses: stop reading its requests until the transport drains.
      state.blocked = true;
      state.connection.pause();
    }
    return accepted;
  }

  function sendError(state: ConnectionState, api: string, cid: number, error: WireError): void {
    send(state, registry.encodeError(api, cid, error));
  }

  function rejectFrame(state: ConnectionState, rejection: Rejection): void {
    metrics.frameRejected(rejection.code);
    if (rejection.kind === 'response' || rejection.kind === 'event') {
      // Answering a response or an event could start two peers answering each other forever: drop it.
      state.log.debug({ code: rejection.code, reason: rejection.reason, kind: rejection.kind }, 'wire: non-request frame rejected');
      return;
    }
    if (rejection.cid !== undefined) {
      state.log.debug({ code: rejection.code, reason: rejection.reason, cid: rejection.cid }, 'wire: frame rejected');
      sendError(state, rejection.api ?? unknownApi, rejection.cid, wireError(rejection.code, rejection.reason));
      return;
    }
    state.log.warn({ code: rejection.code, reason: rejection.reason }, 'wire: unanswerable frame, closing the connection');
    state.connection.close(`${rejection.code}: ${rejection.reason}`);
  }

  function finish(state: ConnectionState, api: RequestApiName<M>, cid: number, startedMs: number, outcome: { ok: true; body: unknown } | { ok: false; error: unknown }): void {
    state.inFlight--;
    if (state.inFlight < 0) throw new Error('rpc server: in-flight count went negative');
    const latencyMs = clock.monotonicMs() - startedMs;
    if (!state.open) {
      metrics.requestCompleted(api, 'NETWORK_EXCEPTION', latencyMs);
      return;
    }
    if (outcome.ok && outcome.body === noResponse) {
      metrics.requestCompleted(api, 'ok', latencyMs);
      return;
    }
    let code: ErrorCode | 'ok' = 'ok';
    let frame: Uint8Array | Uint8Array[] | undefined;
    if (outcome.ok) {
      try {
        // Parts: record batches in the body go to the socket as they are, not copied into the encoding.
        frame = registry.encodeResponseParts(api, cid, outcome.body as ResponseIn<M, typeof api>);
      } catch (error) {
        outcome = { ok: false, error };
      }
    }
    if (!outcome.ok) {
      const { error } = outcome;
      let wire: WireError;
      if (error instanceof RaftlineError) {
        wire = error.toWire();
        if (error.code === 'UNKNOWN_SERVER_ERROR') state.log.error({ err: error, api, cid }, 'wire: handler failed');
      } else {
        // Internals stay in the log; the peer learns only that the server failed.
        state.log.error({ err: error, api, cid }, 'wire: handler threw an unexpected error');
        wire = wireError('UNKNOWN_SERVER_ERROR');
      }
      code = wire.code;
      frame = registry.encodeError(api, cid, wire);
    }
    metrics.requestCompleted(api, code, latencyMs);
    send(state, frame as Uint8Array | Uint8Array[]);
  }

  function onFrame(state: ConnectionState, frame: Uint8Array): void {
    metrics.frameIn(frame.byteLength);
    const envelope = registry.decodeEnvelope(frame);
    if (!envelope.ok) {
      rejectFrame(state, envelope.rejection);
      return;
    }
    if (envelope.value.kind !== 'request') {
      // Nothing on a server connection waits for responses or events; answering one would loop between peers.
      metrics.frameRejected('INVALID_REQUEST');
      state.log.debug({ api: envelope.value.api, kind: envelope.value.kind }, 'wire: non-request frame ignored');
      return;
    }
    const request = registry.parseRequest(envelope.value);
    if (!request.ok) {
      rejectFrame(state, request.rejection);
      return;
    }
    const { api, cid, body } = request.value;
    const handler = handlers[api];
    if (handler === undefined) {
      metrics.requestCompleted(api, 'UNSUPPORTED_VERSION', 0);
      sendError(state, api, cid, wireError('UNSUPPORTED_VERSION', `${api} is not served by this node`));
      return;
    }
    if (state.inFlight >= inFlightMax) {
      metrics.requestCompleted(api, 'THROTTLING_QUOTA_EXCEEDED', 0);
      sendError(state, api, cid, wireError('THROTTLING_QUOTA_EXCEEDED', `${inFlightMax} requests already in flight on this connection`));
      return;
    }
    state.inFlight++;
    const startedMs = clock.monotonicMs();
    const context: RequestContext<M> = {
      api,
      cid,
      connectionId: state.connection.id,
      remote: state.connection.remote,
      get log() {
        return state.log.child({ api, cid });
      },
      servedApis,
      emit: (eventApi, eventBody) => send(state, registry.encodeEvent(eventApi, eventBody)),
    };
    let result: unknown;
    try {
      result = handler(body as RequestOut<M, typeof api>, context);
    } catch (error) {
      finish(state, api, cid, startedMs, { ok: false, error });
      return;
    }
    if (result instanceof Promise) {
      result.then(
        (value: unknown) => finish(state, api, cid, startedMs, { ok: true, body: value }),
        (error: unknown) => finish(state, api, cid, startedMs, { ok: false, error }),
      );
    } else {
      // A synchronous handler answers in the same turn: no promise on the hot path.
      finish(state, api, cid, startedMs, { ok: true, body: result });
    }
  }

  const server: RpcServer = {
    servedApis,
    connections: () => open,
    accept(connection) {
      const state: ConnectionState = {
        connection,
        log: options.log.child({ conn: connection.id, remote: connection.remote }),
        inFlight: 0,
        blocked: false,
        open: true,
      };
      open++;
      metrics.connectionOpened();
      connection.setHandlers({
        onFrame: (frame) => onFrame(state, frame),
        onDrain: () => {
          if (!state.blocked) return;
          state.blocked = false;
          connection.resume();
        },
        onClose: (reason) => {
          if (!state.open) return;
          state.open = false;
          open--;
          metrics.connectionClosed();
          if (reason.protocolError !== undefined) metrics.frameRejected(reason.protocolError);
          state.log.debug({ by: reason.by, detail: reason.detail, inFlight: state.inFlight }, 'wire: connection closed');
        },
      });
    },
    listen: (network, listenOptions) => network.listen(listenOptions, (connection) => server.accept(connection)),
  };
  return server;
}
