// The `node.*` family: liveness and discovery questions any node answers. `node.ping` echoes its payload (also the
// wire benchmark's probe); `node.api-versions` lists the apis the node serves, like Kafka's ApiVersions.
import { z } from 'zod';
import { ApiName } from './envelope.js';

/** Bytes that travel as a CBOR byte string and arrive as a view into the frame (Buffer in Node). */
export const Bytes = z.custom<Uint8Array>((value) => value instanceof Uint8Array, { message: 'expected a byte string' });

export const NodePingRequest = z.object({ payload: Bytes });
export type NodePingRequest = z.infer<typeof NodePingRequest>;

export const NodePingResponse = z.object({ payload: Bytes });
export type NodePingResponse = z.infer<typeof NodePingResponse>;

export const NodeApiVersionsRequest = z.object({});
export type NodeApiVersionsRequest = z.infer<typeof NodeApiVersionsRequest>;

export const NodeApiVersionsResponse = z.object({
  nodeId: z.number().int().min(0),
  /** Envelope versions this node accepts. */
  wireVersions: z.array(z.number().int().min(1)).min(1),
  /** Request apis served, sorted. */
  apis: z.array(ApiName),
});
export type NodeApiVersionsResponse = z.infer<typeof NodeApiVersionsResponse>;

export const nodeApis = {
  'node.ping': { request: NodePingRequest, response: NodePingResponse },
  'node.api-versions': { request: NodeApiVersionsRequest, response: NodeApiVersionsResponse },
} as const;
