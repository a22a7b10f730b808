// Handlers of the `node.*` family, which every node serves: ping echoes the payload bytes (the same view, no copy)
// and api-versions reports what this server handles.
import { wireVersion } from './envelope.js';
import type { HandlerTable } from './server.js';
import type { nodeApis } from './node.js';

export function nodeHandlers(nodeId: number): HandlerTable<typeof nodeApis> {
  if (!Number.isSafeInteger(nodeId) || nodeId < 0) throw new RangeError(`node handlers: bad node id ${nodeId}`);
  return {
    'node.ping': (body) => ({ payload: body.payload }),
    'node.api-versions': (_body, context) => ({ nodeId, wireVersions: [wireVersion], apis: [...context.servedApis] }),
  };
}
