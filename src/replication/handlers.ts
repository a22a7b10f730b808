// The `data.*` handlers a broker serves, over its ReplicaManager. A produce with acks=0 is one-way: it is carried out,
// its per-partition errors are logged, and the handler answers `noResponse` so no frame goes back (Kafka's rule).
import type { Logger } from '../runtime/logger.js';
import type { DataApis } from '../wire/data.js';
import { noResponse, type HandlerTable } from '../wire/server.js';
import type { ReplicaManager } from './replica-manager.js';

export function dataHandlers(manager: ReplicaManager, log: Logger): HandlerTable<DataApis> {
  return {
    'data.produce': async (body) => {
      const response = await manager.produce(body);
      if (body.acks !== 0) return response;
      for (const topic of response.topics) {
        for (const p of topic.partitions) {
          if (p.error !== null) log.debug({ topic: topic.name, partitionId: p.partitionId, code: p.error.code }, 'acks=0 produce failed (no response is sent)');
        }
      }
      return noResponse;
    },
    'data.fetch': (body) => manager.fetch(body),
    'data.list-offsets': (body) => manager.listOffsets(body),
    'data.init-producer-id': (body) => manager.initProducerId(body),
    'data.metadata': (body) => manager.metadata(body),
  };
}
