// The controller family over the real wire path: RpcClient → CBOR frames → createRpcServer → the quorum controller's
// handler table, with a broker forwarding writes to the active controller through createRpcControllerChannel.
import test from 'ava';
import { createRpcControllerChannel } from '../../src/broker/controller-channel.js';
import { metadataHandlers } from '../../src/controller/quorum-controller.js';
import type { Connection, ConnectionHandlers, Network } from '../../src/runtime/network.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { controllerApis } from '../../src/wire/controller.js';
import { RaftlineError } from '../../src/wire/errors.js';
import { nodeHandlers } from '../../src/wire/node-handlers.js';
import { wireRegistry, type WireApis } from '../../src/wire/registry.js';
import { RpcClient } from '../../src/wire/rpc.js';
import { createRpcServer, type RpcServer } from '../../src/wire/server.js';
import { memoryPair } from '../helpers/memory-connection.js';
import { clusterId, QuorumCluster } from './quorum-harness.js';

/** An in-memory Network whose addresses are "node-<id>:1", each served by that node's RPC server. */
function memoryNetwork(servers: Map<string, RpcServer>): Network {
  return {
    listen: () => Promise.reject(new Error('memory network: listen is not used here')),
    connect(address: string, handlers: ConnectionHandlers): Connection {
      const { client, server } = memoryPair();
      client.setHandlers(handlers);
      const target = servers.get(address);
      if (target === undefined) throw new Error(`no server at ${address}`);
      target.accept(server);
      return client;
    },
  };
}

test('controller wire: every api of the family is in the registry, and a broker forwards admin writes to the active controller', async (t) => {
  for (const api of Object.keys(controllerApis)) t.true(wireRegistry.isRequestApi(api), `${api} is registered`);
  const c = new QuorumCluster({ seed: 11, voters: 1, brokers: 1 });
  await c.runUntil(() => c.activeController() === 1 && c.node(2).follower.image().brokers.get(2)?.fenced === false, 5_000, 'controller active, broker registered and unfenced');
  const servers = new Map<string, RpcServer>();
  const network = memoryNetwork(servers);
  const channel = createRpcControllerChannel({ network, clock: c.clock, addressOf: (id) => `node-${id}:1` });
  const broker = c.node(2);
  broker.handlers = metadataHandlers({ nodeId: 2, clusterId, raft: broker.raft, follower: broker.follower, clock: c.clock, forward: channel.send });
  for (const id of [1, 2]) {
    servers.set(`node-${id}:1`, createRpcServer({ registry: wireRegistry, clock: c.clock, log: silentLogger, handlers: { ...nodeHandlers(id), ...c.node(id).handlers } }));
  }
  const admin = new RpcClient<WireApis>(network.connect('node-2:1', {}), { registry: wireRegistry, clock: c.clock });
  const [created] = await Promise.all([
    admin.request('controller.create-topics', { topics: [{ name: 'via-broker', numPartitions: 2, replicationFactor: 1 }] }),
    c.run(300),
  ]);
  t.is(created.topics[0]?.error, null, 'the broker forwarded the write and relayed the committed answer');
  await c.run(300);
  const [described] = await Promise.all([admin.request('controller.describe-topics', { topics: ['via-broker'] }), c.run(10)]);
  t.is(described.topics[0]?.partitions.length, 2, 'the broker\'s own image has the topic');
  // Errors travel as error envelopes with their codes; the active controller is named in NOT_CONTROLLER messages.
  const [bad] = await Promise.all([
    admin.request('controller.broker-heartbeat', { brokerId: 9, brokerEpoch: 3, currentMetadataOffset: 0, wantFence: false, wantShutDown: false }).catch((e: unknown) => e),
    c.run(300),
  ]);
  t.true(bad instanceof RaftlineError && bad.code === 'BROKER_ID_NOT_REGISTERED', String(bad));
  const [schemaBad] = await Promise.all([
    admin.request('controller.create-topics', { topics: [] }).catch((e: unknown) => e),
    c.run(10),
  ]);
  t.true(schemaBad instanceof RaftlineError && schemaBad.code === 'INVALID_REQUEST', 'an empty topic list is refused at the edge');
  const [served] = await Promise.all([admin.request('node.api-versions', {}), c.run(10)]);
  t.true(served.apis.includes('controller.describe-quorum'));
  admin.close();
  channel.close();
  c.stopAll();
});
