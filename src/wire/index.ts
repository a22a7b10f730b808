// The wire layer's public surface: codec, envelope, families, registry, RPC client and server, metrics hook.
export { encodeFrame, decodeFrame } from './codec.js';
export type { FrameDecodeResult } from './codec.js';
export * from './envelope.js';
export * from './api.js';
export * from './node.js';
export { wireApis, wireRegistry, createRegistry } from './registry.js';
export type { WireApis, Registry, Rejection, RejectionCode, Decoded, DecodedRequest, DecodedEvent, DecodedResponse } from './registry.js';
export { RpcClient } from './rpc.js';
export type { RpcClientOptions, RequestOptions } from './rpc.js';
export { createRpcServer, noResponse } from './server.js';
export type { RpcServer, RpcServerOptions, RequestContext, Handler, HandlerTable, NoResponse } from './server.js';
export { nodeHandlers } from './node-handlers.js';
export { noopWireMetrics, createCountingWireMetrics } from './metrics.js';
export type { WireMetrics, CountingWireMetrics, RequestOutcome } from './metrics.js';
export * from './errors.js';
export * from './data.js';
