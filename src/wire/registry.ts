// The registry: api name → body schemas, and the one path from bytes to a typed message (bytes → CBOR → envelope →
// safeParse). Invariant: decoding never throws; every malformed frame becomes a Rejection with a code and a reason,
// carrying the correlation id whenever the frame had a readable one, so the server can answer it.
//
// Rejection codes: bytes that are not one CBOR item → CORRUPT_MESSAGE; a frame over the limit → MESSAGE_TOO_LARGE;
// valid CBOR that is not a valid envelope or body → INVALID_REQUEST; an envelope version other than ours, or an api
// this registry does not know → UNSUPPORTED_VERSION (what Kafka answers for an unknown api key).
import { frameBytesMax as frameBytesMaxLimit } from '../limits.js';
import type { ApiMap, EventApiName, EventIn, EventOut, RequestApiName, RequestIn, RequestOut, ResponseIn, ResponseOut } from './api.js';
import { composeFamilies, isRequestApi } from './api.js';
import { decodeFrame, encodeFrame, encodeFrameParts } from './codec.js';
import type { Envelope, EnvelopeKind } from './envelope.js';
import {
  ApiName,
  CorrelationId,
  Envelope as EnvelopeSchema,
  describeIssues,
  errorEnvelope,
  eventEnvelope,
  requestEnvelope,
  responseEnvelope,
  wireVersion,
} from './envelope.js';
import type { WireError } from './errors.js';
import { RaftlineError } from './errors.js';
import { controllerApis } from './controller.js';
import { dataApis } from './data.js';
import { nodeApis } from './node.js';
import { raftApis } from './raft.js';
import { raftMessageApis } from './raft-messages.js';
import { InProcessFrame, inProcessFramesEnabled } from './in-process.js';

/** Every family this build speaks. Adding a family is one more argument here. */
export const wireApis = composeFamilies(nodeApis, raftApis, raftMessageApis, controllerApis, dataApis);
export type WireApis = typeof wireApis;

export type RejectionCode = 'CORRUPT_MESSAGE' | 'INVALID_REQUEST' | 'MESSAGE_TOO_LARGE' | 'UNSUPPORTED_VERSION';

export interface Rejection {
  code: RejectionCode;
  reason: string;
  /** The frame's correlation id, when one could be read: the rejection can then be answered. */
  cid?: number;
  /** The frame's api, when it was a well-formed name. */
  api?: string;
  /** The frame's kind, when it was one of the three: a server never answers a rejected response or event. */
  kind?: EnvelopeKind;
}

export type Decoded<T> = { ok: true; value: T } | { ok: false; rejection: Rejection };

export type DecodedRequest<M extends ApiMap> = {
  [K in RequestApiName<M>]: { api: K; cid: number; body: RequestOut<M, K> };
}[RequestApiName<M>];

export type DecodedEvent<M extends ApiMap> = {
  [K in EventApiName<M>]: { api: K; body: EventOut<M, K> };
}[EventApiName<M>];

/** A response as the requester sees it: the validated body, or the error the server answered with. */
export type DecodedResponse<T> = { cid: number; body: T; error?: undefined } | { cid: number; body?: undefined; error: WireError };

export interface Registry<M extends ApiMap> {
  readonly apis: M;
  readonly frameBytesMax: number;
  /** Request apis this registry knows, sorted. */
  requestApis(): string[];
  isRequestApi(api: string): api is RequestApiName<M>;
  /** bytes → CBOR → envelope. */
  decodeEnvelope(bytes: Uint8Array): Decoded<Envelope>;
  /** bytes → CBOR → envelope → request body schema. */
  decodeRequest(bytes: Uint8Array): Decoded<DecodedRequest<M>>;
  parseRequest(envelope: Envelope): Decoded<DecodedRequest<M>>;
  /** Validates a response envelope against the response schema of `api` (the api the requester asked). */
  parseResponse<K extends RequestApiName<M>>(api: K, envelope: Envelope): Decoded<DecodedResponse<ResponseOut<M, K>>>;
  parseEvent(envelope: Envelope): Decoded<DecodedEvent<M>>;
  /** Encoders; they throw RaftlineError(MESSAGE_TOO_LARGE) over the frame limit. */
  encodeRequest<K extends RequestApiName<M>>(api: K, cid: number, body: RequestIn<M, K>): Uint8Array;
  encodeResponse<K extends RequestApiName<M>>(api: K, cid: number, body: ResponseIn<M, K>): Uint8Array;
  /**
   * The same frame as `encodeResponse`, as parts to send back to back (Connection.sendParts): large byte strings
   * (record batches) are parts of their own instead of being copied into the encoding.
   */
  encodeResponseParts<K extends RequestApiName<M>>(api: K, cid: number, body: ResponseIn<M, K>): Uint8Array[];
  /** The same frame as `encodeRequest`, as parts (a produce request's record batches are parts of their own). */
  encodeRequestParts<K extends RequestApiName<M>>(api: K, cid: number, body: RequestIn<M, K>): Uint8Array[];
  encodeError(api: string, cid: number, error: WireError): Uint8Array;
  encodeEvent<K extends EventApiName<M>>(api: K, body: EventIn<M, K>): Uint8Array;
}


function reject<T>(code: RejectionCode, reason: string, cid?: number, api?: string, kind?: EnvelopeKind): Decoded<T> {
  const rejection: Rejection = { code, reason };
  if (cid !== undefined) rejection.cid = cid;
  if (api !== undefined) rejection.api = api;
  if (kind !== undefined) rejection.kind = kind;
  return { ok: false, rejection };
}

const envelopeKinds: readonly unknown[] = ['request', 'response', 'event'] satisfies EnvelopeKind[];

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Uint8Array);
}

export function createRegistry<M extends ApiMap>(apis: M, options: { frameBytesMax?: number } = {}): Registry<M> {
  const frameBytesMax = options.frameBytesMax ?? frameBytesMaxLimit;
  if (!Number.isSafeInteger(frameBytesMax) || frameBytesMax <= 0 || frameBytesMax > frameBytesMaxLimit) {
    throw new RangeError(`registry: frameBytesMax must be in (0, ${frameBytesMaxLimit}], got ${frameBytesMax}`);
  }
  for (const api of Object.keys(apis)) {
    if (!ApiName.safeParse(api).success) throw new Error(`registry: ${JSON.stringify(api)} is not a valid api name`);
  }
  const requestApiNames = Object.keys(apis)
    .filter((api) => isRequestApi(apis[api] as M[string]))
    .sort();
  const known = (api: string): boolean => Object.hasOwn(apis, api);
  const specOf = (api: string) => apis[api] as M[string];

  // Frames carry their envelope instead of bytes only while a host (the simulator) has turned that on; the size limit
  // then applies to the estimate, so an oversized message fails the same way.
  const frameOf = (envelope: Envelope): Uint8Array => {
    if (!inProcessFramesEnabled()) return encodeFrame(envelope, frameBytesMax);
    const frame = InProcessFrame.carrying(envelope);
    if (frame.sizeBytes > frameBytesMax) {
      throw new RaftlineError('MESSAGE_TOO_LARGE', `frame of about ${frame.sizeBytes} bytes exceeds the limit of ${frameBytesMax}`);
    }
    return frame;
  };

  const registry: Registry<M> = {
    apis,
    frameBytesMax,
    requestApis: () => [...requestApiNames],
    isRequestApi: (api: string): api is RequestApiName<M> => known(api) && isRequestApi(specOf(api)),

    decodeEnvelope(bytes) {
      // The envelope was built by this very code; its body is still validated below, as a decoded frame's would be,
      // so a node that sends what the wire refuses is refused in the simulator too (the wire-modes spec found one).
      if (bytes instanceof InProcessFrame) {
        return { ok: true, value: bytes.envelope };
      }
      const frame = decodeFrame(bytes, frameBytesMax);
      if (!frame.ok) return reject(frame.code, frame.reason);
      const value = frame.value;
      if (!isPlainObject(value)) return reject('INVALID_REQUEST', 'the frame is CBOR but not a map (an envelope is a map)');
      // The envelope is validated once; the cid and api are dug out separately only for a rejection's reply.
      const recover = () => {
        const cid = CorrelationId.safeParse(value['cid']);
        const api = ApiName.safeParse(value['api']);
        const kind = envelopeKinds.includes(value['kind']) ? (value['kind'] as EnvelopeKind) : undefined;
        return [cid.success ? cid.data : undefined, api.success ? api.data : undefined, kind] as const;
      };
      if (typeof value['v'] === 'number' && value['v'] !== wireVersion) {
        return reject('UNSUPPORTED_VERSION', `envelope version ${value['v']} is not supported (this node speaks ${wireVersion})`, ...recover());
      }
      const parsed = EnvelopeSchema.safeParse(value);
      if (!parsed.success) return reject('INVALID_REQUEST', `bad envelope: ${describeIssues(parsed.error)}`, ...recover());
      return { ok: true, value: parsed.data };
    },

    decodeRequest(bytes) {
      const envelope = registry.decodeEnvelope(bytes);
      if (!envelope.ok) return envelope;
      return registry.parseRequest(envelope.value);
    },

    parseRequest(envelope) {
      const { api, cid } = envelope;
      if (envelope.kind !== 'request') return reject('INVALID_REQUEST', `expected a request, got a ${envelope.kind}`, cid, api, envelope.kind);
      if (!known(api)) return reject('UNSUPPORTED_VERSION', `unknown api ${api}`, cid, api);
      const spec = specOf(api);
      if (!isRequestApi(spec)) return reject('INVALID_REQUEST', `${api} is an event api, not a request`, cid, api);
      const body = spec.request.safeParse(envelope.body);
      if (!body.success) return reject('INVALID_REQUEST', `bad ${api} request: ${describeIssues(body.error)}`, cid, api);
      return { ok: true, value: { api, cid, body: body.data } as DecodedRequest<M> };
    },

    parseResponse(api, envelope) {
      const { cid } = envelope;
      if (envelope.kind !== 'response') return reject('INVALID_REQUEST', `expected a response, got a ${envelope.kind}`, cid, envelope.api);
      if (envelope.error !== undefined) return { ok: true, value: { cid, error: envelope.error as WireError } };
      if (envelope.api !== api) return reject('INVALID_REQUEST', `response names api ${envelope.api}, the request was ${api}`, cid, envelope.api);
      const spec = specOf(api);
      if (!isRequestApi(spec)) return reject('INVALID_REQUEST', `${api} is not a request api`, cid, api);
      const body = spec.response.safeParse(envelope.body);
      if (!body.success) return reject('INVALID_REQUEST', `bad ${api} response: ${describeIssues(body.error)}`, cid, api);
      return { ok: true, value: { cid, body: body.data as ResponseOut<M, typeof api> } };
    },

    parseEvent(envelope) {
      const { api } = envelope;
      if (envelope.kind !== 'event') return reject('INVALID_REQUEST', `expected an event, got a ${envelope.kind}`, undefined, api);
      if (!known(api)) return reject('UNSUPPORTED_VERSION', `unknown api ${api}`, undefined, api);
      const spec = specOf(api);
      if (isRequestApi(spec)) return reject('INVALID_REQUEST', `${api} is a request api, not an event`, undefined, api);
      const body = spec.event.safeParse(envelope.body);
      if (!body.success) return reject('INVALID_REQUEST', `bad ${api} event: ${describeIssues(body.error)}`, undefined, api);
      return { ok: true, value: { api, body: body.data } as DecodedEvent<M> };
    },

    encodeRequest: (api, cid, body) => frameOf(requestEnvelope(api, cid, body)),
    encodeResponse: (api, cid, body) => frameOf(responseEnvelope(api, cid, body)),
    encodeRequestParts: (api, cid, body) => {
      const envelope = requestEnvelope(api, cid, body);
      return inProcessFramesEnabled() ? [frameOf(envelope)] : encodeFrameParts(envelope, frameBytesMax);
    },
    encodeResponseParts: (api, cid, body) => {
      const envelope = responseEnvelope(api, cid, body);
      return inProcessFramesEnabled() ? [frameOf(envelope)] : encodeFrameParts(envelope, frameBytesMax);
    },
    encodeError: (api, cid, error) => frameOf(errorEnvelope(api, cid, error)),
    encodeEvent: (api, body) => frameOf(eventEnvelope(api, body)),
  };
  return registry;
}

/** The registry of every family this build speaks. */
export const wireRegistry: Registry<WireApis> = createRegistry(wireApis);
