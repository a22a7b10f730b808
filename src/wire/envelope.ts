// The frame envelope every message travels in: `{ v: 1, api, kind, cid, body }`, or an error response with
// `error` in place of `body`. Invariant: a response carries the cid of the request it answers.
import { z } from 'zod';
import type { ErrorCode, WireError } from './errors.js';
import { isErrorCode } from './errors.js';

/** The envelope version this node speaks; a frame with another `v` is UNSUPPORTED_VERSION. */
export const wireVersion = 1;

/** Api names: dot-separated lowercase words (`node.ping`, `raft.vote`); the bound keeps log labels sane. */
export const ApiName = z.string().min(1).max(64).regex(/^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/);

/** A correlation id: chosen by the requester, echoed by the response. */
export const CorrelationId = z.number().int().min(0).max(Number.MAX_SAFE_INTEGER);

/** A WireError as received. The code is kept as a string so an older client survives a newer server's codes. */
export const WireErrorSchema = z.object({
  code: z.string().min(1).max(64),
  retriable: z.boolean(),
  message: z.string().max(4096),
  /** NOT_CONTROLLER only: the controller the refusing node knows (a leader hint to follow). */
  leaderId: z.number().int().min(0).max(2 ** 31 - 1).optional(),
});

export const Envelope = z
  .object({
    v: z.literal(wireVersion),
    api: ApiName,
    kind: z.enum(['request', 'response', 'event']),
    cid: CorrelationId,
    body: z.unknown(),
    error: WireErrorSchema.optional(),
  })
  .refine((e) => e.error === undefined || e.kind === 'response', { message: 'only a response may carry an error', path: ['error'] });
export type Envelope = z.infer<typeof Envelope>;

export type EnvelopeKind = Envelope['kind'];

export function requestEnvelope(api: string, cid: number, body: unknown): Envelope {
  return { v: wireVersion, api, kind: 'request', cid, body };
}

export function responseEnvelope(api: string, cid: number, body: unknown): Envelope {
  return { v: wireVersion, api, kind: 'response', cid, body };
}

export function errorEnvelope(api: string, cid: number, error: WireError): Envelope {
  return { v: wireVersion, api, kind: 'response', cid, body: null, error };
}

export function eventEnvelope(api: string, body: unknown): Envelope {
  return { v: wireVersion, api, kind: 'event', cid: 0, body };
}

/** The code a client acts on: a received code this node does not know becomes UNKNOWN_SERVER_ERROR. */
export function receivedErrorCode(error: { code: string }): ErrorCode {
  return isErrorCode(error.code) ? error.code : 'UNKNOWN_SERVER_ERROR';
}

/** A short, bounded description of zod issues for rejection reasons and logs. */
export function describeIssues(error: z.ZodError): string {
  const parts = error.issues.slice(0, 3).map((issue) => {
    const where = issue.path.length > 0 ? issue.path.map(String).join('.') : '(root)';
    return `${where}: ${issue.message}`;
  });
  if (error.issues.length > 3) parts.push(`and ${error.issues.length - 3} more`);
  return parts.join('; ');
}

