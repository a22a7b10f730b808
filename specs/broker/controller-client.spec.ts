// The broker's one controller-finding client: the local hint first, then the voters in turn, a NOT_CONTROLLER that
// names the controller followed in one hop, and the target kept once a node answered as the controller. The
// replica manager's controller calls used only the hint before (known bug "brokers stop knowing the controller").
import test from 'ava';
import { createControllerClient, nextControllerTarget } from '../../src/broker/controller-client.js';
import { silentLogger } from '../../src/runtime/logger.js';
import type { ControllerApi, ControllerApis, ControllerChannel } from '../../src/wire/controller.js';
import type { ResponseOut } from '../../src/wire/api.js';
import { NotControllerError, RaftlineError } from '../../src/wire/errors.js';
import { wireRegistry, type WireApis } from '../../src/wire/registry.js';
import { RpcClient } from '../../src/wire/rpc.js';
import { createRpcServer } from '../../src/wire/server.js';
import { memoryPair } from '../helpers/memory-connection.js';
import { VirtualClock } from '../raft/harness.js';

const body = { brokerId: 4, brokerEpoch: 7 };

/** A channel where `controller` answers allocate-producer-ids and every other node refuses as `refuse(node)` says. */
function fakeChannel(controller: number | null, refuse: (node: number) => Error): { channel: ControllerChannel; calls: number[] } {
  const calls: number[] = [];
  const channel = (async <K extends ControllerApi>(node: number, api: K): Promise<ResponseOut<ControllerApis, K>> => {
    calls.push(node);
    if (api !== 'controller.allocate-producer-ids') throw new Error(`unexpected api ${api}`);
    if (node === controller) return { firstProducerId: 1000, count: 100 } as ResponseOut<ControllerApis, K>;
    throw refuse(node);
  }) as ControllerChannel;
  return { channel, calls };
}

test('controller client: the local hint is tried first', async (t) => {
  const { channel, calls } = fakeChannel(2, () => new RaftlineError('NOT_CONTROLLER'));
  const client = createControllerClient({ channel, voters: [1, 2, 3], hint: () => 2 });
  t.deepEqual(await client.request('controller.allocate-producer-ids', body, 1000), { firstProducerId: 1000, count: 100 });
  t.deepEqual(calls, [2]);
});

test('controller client: without a hint the voters are tried in turn, and the one that answered is kept', async (t) => {
  const { channel, calls } = fakeChannel(3, () => new RaftlineError('NOT_CONTROLLER', 'no leader known'));
  const client = createControllerClient({ channel, voters: [1, 2, 3], hint: () => null });
  await client.request('controller.allocate-producer-ids', body, 1000);
  t.deepEqual(calls, [1, 2, 3]);
  t.is(client.target(), 3);
  await client.request('controller.allocate-producer-ids', body, 1000);
  t.deepEqual(calls, [1, 2, 3, 3], 'the next call goes straight to the controller found');
});

test('controller client: a stale hint does not stop the search (the replica manager used to give up on it)', async (t) => {
  // The local observer still names 1, which no longer leads and knows no leader either.
  const { channel, calls } = fakeChannel(3, () => new RaftlineError('NOT_CONTROLLER'));
  const client = createControllerClient({ channel, voters: [1, 2, 3], hint: () => 1 });
  await client.request('controller.allocate-producer-ids', body, 1000);
  t.deepEqual(calls, [1, 2, 3]);
});

test('controller client: a NOT_CONTROLLER naming the controller is followed in one hop', async (t) => {
  const { channel, calls } = fakeChannel(3, () => new NotControllerError('node 1 is not the active controller; node 3 is', 3));
  const client = createControllerClient({ channel, voters: [1, 2, 3], hint: () => null });
  await client.request('controller.allocate-producer-ids', body, 1000);
  t.deepEqual(calls, [1, 3]);
});

test('controller client: unreachable voters are skipped like refusals', async (t) => {
  const { channel, calls } = fakeChannel(2, (node) => new RaftlineError(node === 1 ? 'NETWORK_EXCEPTION' : 'REQUEST_TIMED_OUT'));
  const client = createControllerClient({ channel, voters: [1, 2, 3], hint: () => 1 });
  await client.request('controller.allocate-producer-ids', body, 1000);
  t.deepEqual(calls, [1, 2]);
});

test('controller client: other errors end the call at once, and the target stays', async (t) => {
  const { channel, calls } = fakeChannel(null, () => new RaftlineError('STALE_BROKER_EPOCH'));
  const client = createControllerClient({ channel, voters: [1, 2, 3], hint: () => 2 });
  const error = await t.throwsAsync(client.request('controller.allocate-producer-ids', body, 1000));
  t.is((error as RaftlineError).code, 'STALE_BROKER_EPOCH');
  t.deepEqual(calls, [2]);
  t.is(client.target(), 2);
});

test('controller client: with nobody answering, one call tries each voter once more than there are voters, then fails', async (t) => {
  const { channel, calls } = fakeChannel(null, () => new RaftlineError('NOT_CONTROLLER'));
  const client = createControllerClient({ channel, voters: [1, 2, 3], hint: () => null });
  const error = await t.throwsAsync(client.request('controller.allocate-producer-ids', body, 1000));
  t.is((error as RaftlineError).code, 'NOT_CONTROLLER');
  t.deepEqual(calls, [1, 2, 3, 1]);
});

test('controller client: the next target is never the node that just failed while another exists', (t) => {
  t.is(nextControllerTarget([1, 2, 3], 3, null), 1);
  t.is(nextControllerTarget([1, 2, 3], 2, 2), 3, 'a hint naming the failed node is ignored');
  t.is(nextControllerTarget([1, 2, 3], 2, 2, 2), 3, 'so is a refusal naming itself');
  t.is(nextControllerTarget([1, 2, 3], 9, null), 1, 'a non-voter target continues at the first voter');
  t.is(nextControllerTarget([1, 2, 3], 1, 3, 2), 2, 'the named controller wins over the local hint');
});

test('wire: NOT_CONTROLLER carries the controller it names across the wire', async (t) => {
  const clock = new VirtualClock();
  const { client: clientEnd, server: serverEnd } = memoryPair();
  const server = createRpcServer<WireApis>({
    registry: wireRegistry,
    clock,
    log: silentLogger,
    handlers: {
      'controller.allocate-producer-ids': () => {
        throw new NotControllerError('node 1 is not the active controller; node 3 is (epoch 4)', 3);
      },
      'controller.broker-heartbeat': () => {
        throw new NotControllerError('node 1 is not the active controller and knows no leader', null);
      },
    },
  });
  server.accept(serverEnd);
  const rpc = new RpcClient<WireApis>(clientEnd, { registry: wireRegistry, clock });
  const named = await rpc.request('controller.allocate-producer-ids', body).catch((e: unknown) => e);
  t.true(named instanceof NotControllerError, String(named));
  t.is((named as NotControllerError).leaderId, 3);
  t.is((named as NotControllerError).code, 'NOT_CONTROLLER');
  const unnamed = await rpc.request('controller.broker-heartbeat', { brokerId: 4, brokerEpoch: 1, currentMetadataOffset: 0, wantFence: false, wantShutDown: false }).catch((e: unknown) => e);
  t.true(unnamed instanceof RaftlineError && unnamed.code === 'NOT_CONTROLLER' && !(unnamed instanceof NotControllerError), String(unnamed));
  rpc.close();
});
