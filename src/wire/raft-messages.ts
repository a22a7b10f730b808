// The Raft message carrier family: one one-way 'event' api per RaftMessage type (`raft.vote.request`, ...,
// `raft.fetch-snapshot.response`), whose body carries the sender, the Raft correlation id and the message body
// validated by the same schemas as `raftApis`. Raft pairs requests with responses itself and tolerates loss, so the
// transport sends each message as a fire-and-forget frame (src/raft/transport.ts); the api name is the message type.
import { z } from 'zod';
import type { RequestApiSpec } from './api.js';
import { NodeId, raftApis } from './raft.js';

const CorrelationId = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);

function carrier<S extends z.ZodType>(body: S) {
  return { event: z.object({ from: NodeId, correlationId: CorrelationId, body }) };
}

function pair<A extends RequestApiSpec & { request: z.ZodType; response: z.ZodType }>(api: A) {
  return { request: carrier(api.request as A['request']), response: carrier(api.response as A['response']) };
}

const vote = pair(raftApis['raft.vote']);
const begin = pair(raftApis['raft.begin-quorum-epoch']);
const end = pair(raftApis['raft.end-quorum-epoch']);
const fetch = pair(raftApis['raft.fetch']);
const fetchSnapshot = pair(raftApis['raft.fetch-snapshot']);

export const raftMessageApis = {
  'raft.vote.request': vote.request,
  'raft.vote.response': vote.response,
  'raft.begin-quorum-epoch.request': begin.request,
  'raft.begin-quorum-epoch.response': begin.response,
  'raft.end-quorum-epoch.request': end.request,
  'raft.end-quorum-epoch.response': end.response,
  'raft.fetch.request': fetch.request,
  'raft.fetch.response': fetch.response,
  'raft.fetch-snapshot.request': fetchSnapshot.request,
  'raft.fetch-snapshot.response': fetchSnapshot.response,
} as const;
export type RaftMessageApi = keyof typeof raftMessageApis;
