// The RPC client over a scripted in-memory connection and a manual clock: correlation, timeouts, server errors,
// invalid responses, close → NETWORK_EXCEPTION, the in-flight bound, the outbox before open and under
// backpressure, and pushed events.
import test from 'ava';
import { z } from 'zod';
import { composeFamilies } from '../../src/wire/api.js';
import { encodeFrame } from '../../src/wire/codec.js';
import { RaftlineError } from '../../src/wire/errors.js';
import { createCountingWireMetrics } from '../../src/wire/metrics.js';
import { nodeApis } from '../../src/wire/node.js';
import { createRegistry, type DecodedEvent } from '../../src/wire/registry.js';
import { RpcClient } from '../../src/wire/rpc.js';
import { createRpcServer } from '../../src/wire/server.js';
import { nodeHandlers } from '../../src/wire/node-handlers.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { createManualClock } from '../helpers/manual-clock.js';
import { memoryPair, type MemoryEnd } from '../helpers/memory-connection.js';

const testApis = composeFamilies(nodeApis, {
  'test.notice': { event: z.object({ text: z.string() }) },
});
const registry = createRegistry(testApis);

function setup(options: { inFlightMax?: number; openAtStart?: boolean } = {}) {
  const clock = createManualClock();
  const { client, server } = memoryPair({ openAtStart: options.openAtStart ?? true });
  const events: Array<DecodedEvent<typeof testApis>> = [];
  const metrics = createCountingWireMetrics();
  const rpc = new RpcClient(client, {
    registry,
    clock,
    metrics,
    timeoutMsDefault: 1000,
    onEvent: (event) => events.push(event),
    ...(options.inFlightMax === undefined ? {} : { inFlightMax: options.inFlightMax }),
  });
  return { clock, client, server, rpc, events, metrics };
}

/** The requests the client has put on the wire so far, decoded. */
function requestsSent(end: MemoryEnd) {
  return end.sent.map((frame) => {
    const decoded = registry.decodeRequest(frame);
    if (!decoded.ok) throw new Error(decoded.rejection.reason);
    return decoded.value;
  });
}

const tick = (): Promise<void> => new Promise((resolve) => queueMicrotask(resolve));

test('rpc: responses are matched to requests by correlation id, in any order', async (t) => {
  const { client, server, rpc } = setup();
  const first = rpc.request('node.ping', { payload: new Uint8Array([1]) });
  const second = rpc.request('node.ping', { payload: new Uint8Array([2]) });
  const [a, b] = requestsSent(client);
  t.not(a?.cid, b?.cid);
  server.send(registry.encodeResponse('node.ping', b!.cid, { payload: new Uint8Array([22]) }));
  server.send(registry.encodeResponse('node.ping', a!.cid, { payload: new Uint8Array([11]) }));
  t.deepEqual([...(await first).payload], [11]);
  t.deepEqual([...(await second).payload], [22]);
  t.is(rpc.inFlight, 0);
});

test('rpc: a request without a response fails with REQUEST_TIMED_OUT on the clock, and a late answer is ignored', async (t) => {
  const { clock, client, server, rpc, metrics } = setup();
  const pending = rpc.request('node.ping', { payload: new Uint8Array() }, { timeoutMs: 250 });
  clock.advance(249);
  t.is(rpc.inFlight, 1);
  clock.advance(1);
  const error = await t.throwsAsync(pending, { instanceOf: RaftlineError });
  t.is(error?.code, 'REQUEST_TIMED_OUT');
  t.true(error?.retriable);
  server.send(registry.encodeResponse('node.ping', requestsSent(client)[0]!.cid, { payload: new Uint8Array() }));
  await tick();
  t.is(rpc.inFlight, 0);
  t.is(metrics.requests.get('node.ping REQUEST_TIMED_OUT'), 1);
  t.is(clock.pendingTimers(), 0);
});

test('rpc: an error response rejects with the server\'s code; an unknown code becomes UNKNOWN_SERVER_ERROR', async (t) => {
  const { client, server, rpc } = setup();
  const first = rpc.request('node.ping', { payload: new Uint8Array() });
  const second = rpc.request('node.ping', { payload: new Uint8Array() });
  const [a, b] = requestsSent(client);
  server.send(registry.encodeError('node.ping', a!.cid, { code: 'NOT_LEADER_OR_FOLLOWER', retriable: true, message: 'leader is 2' }));
  server.send(encodeFrame({ v: 1, api: 'node.ping', kind: 'response', cid: b!.cid, body: null, error: { code: 'FROM_THE_FUTURE', retriable: true, message: '?' } }));
  const e1 = await t.throwsAsync(first, { instanceOf: RaftlineError });
  t.like(e1, { code: 'NOT_LEADER_OR_FOLLOWER', retriable: true, message: 'leader is 2' });
  const e2 = await t.throwsAsync(second, { instanceOf: RaftlineError });
  t.is(e2?.code, 'UNKNOWN_SERVER_ERROR');
});

test('rpc: a response that fails its schema rejects with CORRUPT_MESSAGE and the connection stays usable', async (t) => {
  const { client, server, rpc } = setup();
  const bad = rpc.request('node.ping', { payload: new Uint8Array() });
  server.send(encodeFrame({ v: 1, api: 'node.ping', kind: 'response', cid: requestsSent(client)[0]!.cid, body: { payload: 'nope' } }));
  t.is((await t.throwsAsync(bad, { instanceOf: RaftlineError }))?.code, 'CORRUPT_MESSAGE');
  const good = rpc.request('node.ping', { payload: new Uint8Array([5]) });
  server.send(registry.encodeResponse('node.ping', requestsSent(client)[1]!.cid, { payload: new Uint8Array([5]) }));
  t.deepEqual([...(await good).payload], [5]);
});

test('rpc: when the connection closes every outstanding request fails with NETWORK_EXCEPTION', async (t) => {
  const { server, rpc, clock } = setup();
  const pending = [1, 2, 3].map((i) => rpc.request('node.ping', { payload: new Uint8Array([i]) }));
  server.close('broker shutting down');
  for (const p of pending) {
    const error = await t.throwsAsync(p, { instanceOf: RaftlineError });
    t.is(error?.code, 'NETWORK_EXCEPTION');
    t.regex(error?.message ?? '', /broker shutting down/);
  }
  t.is(clock.pendingTimers(), 0, 'timeout timers are cleared');
  t.is((await t.throwsAsync(rpc.request('node.ping', { payload: new Uint8Array() }), { instanceOf: RaftlineError }))?.code, 'NETWORK_EXCEPTION');
});

test('rpc: a local close fails outstanding requests at once', async (t) => {
  const { rpc } = setup();
  const pending = rpc.request('node.ping', { payload: new Uint8Array() });
  rpc.close();
  t.is((await t.throwsAsync(pending, { instanceOf: RaftlineError }))?.code, 'NETWORK_EXCEPTION');
  t.true(rpc.isClosed);
});

test('rpc: beyond inFlightMax a request is refused with THROTTLING_QUOTA_EXCEEDED', async (t) => {
  const { rpc, client, server } = setup({ inFlightMax: 2 });
  const a = rpc.request('node.ping', { payload: new Uint8Array() });
  void rpc.request('node.ping', { payload: new Uint8Array() }).catch(() => {});
  const error = await t.throwsAsync(rpc.request('node.ping', { payload: new Uint8Array() }), { instanceOf: RaftlineError });
  t.is(error?.code, 'THROTTLING_QUOTA_EXCEEDED');
  t.true(error?.retriable);
  server.send(registry.encodeResponse('node.ping', requestsSent(client)[0]!.cid, { payload: new Uint8Array() }));
  await a;
  const c = rpc.request('node.ping', { payload: new Uint8Array() });
  t.is(rpc.inFlight, 2, 'a slot freed by a response can be used again');
  rpc.close();
  t.is((await t.throwsAsync(c, { instanceOf: RaftlineError }))?.code, 'NETWORK_EXCEPTION');
});

test('rpc: requests made before the connection opens go out, in order, when it opens', async (t) => {
  const { rpc, client } = setup({ openAtStart: false });
  void rpc.request('node.ping', { payload: new Uint8Array([1]) }).catch(() => {});
  void rpc.request('node.api-versions', {}).catch(() => {});
  t.is(client.sent.length, 0);
  client.open();
  t.deepEqual(requestsSent(client).map((r) => r.api), ['node.ping', 'node.api-versions']);
  rpc.close();
});

test('rpc: under backpressure requests wait for onDrain; one that times out meanwhile is never sent', async (t) => {
  const { rpc, client, clock } = setup();
  client.backpressure = true;
  void rpc.request('node.ping', { payload: new Uint8Array([1]) }).catch(() => {});
  t.is(client.sent.length, 1, 'the first frame is taken; the transport then reports backpressure');
  const expired = rpc.request('node.ping', { payload: new Uint8Array([2]) }, { timeoutMs: 10 });
  void rpc.request('node.ping', { payload: new Uint8Array([3]) }).catch(() => {});
  t.is(client.sent.length, 1);
  clock.advance(10);
  t.is((await t.throwsAsync(expired, { instanceOf: RaftlineError }))?.code, 'REQUEST_TIMED_OUT');
  client.drain();
  t.deepEqual(requestsSent(client).map((r) => [...(r.body as { payload: Uint8Array }).payload]), [[1], [3]]);
  rpc.close();
});

test('rpc: pushed events are validated and delivered; invalid ones are dropped', async (t) => {
  const { server, events, metrics } = setup();
  server.send(registry.encodeEvent('test.notice', { text: 'hello' }));
  server.send(encodeFrame({ v: 1, api: 'test.notice', kind: 'event', cid: 0, body: { text: 42 } }));
  await tick();
  await tick();
  t.deepEqual(events, [{ api: 'test.notice', body: { text: 'hello' } }]);
  t.is(metrics.rejected.get('INVALID_REQUEST'), 1);
});

test('rpc: garbage without a correlation id from the peer closes the connection', async (t) => {
  const { client, rpc } = setup();
  const pending = rpc.request('node.ping', { payload: new Uint8Array() });
  client.inject(Uint8Array.from([0xff, 0xfe, 0xfd]));
  t.is((await t.throwsAsync(pending, { instanceOf: RaftlineError }))?.code, 'NETWORK_EXCEPTION');
  t.true(rpc.isClosed);
});

test('rpc: client and server run over any Connection and Clock (the simulator\'s included)', async (t) => {
  const clock = createManualClock();
  const { client, server } = memoryPair();
  const metrics = createCountingWireMetrics();
  const rpcServer = createRpcServer({ registry, clock, log: silentLogger, metrics, handlers: nodeHandlers(7) });
  rpcServer.accept(server);
  const rpc = new RpcClient(client, { registry, clock });
  const versions = await rpc.request('node.api-versions', {});
  t.deepEqual(versions, { nodeId: 7, wireVersions: [1], apis: ['node.api-versions', 'node.ping'] });
  t.is(metrics.connectionsOpen, 1);
  rpc.close();
  await tick();
  t.is(metrics.connectionsOpen, 0);
  t.is(rpcServer.connections(), 0);
});

test('server: when responses back up, it stops reading the connection until the transport drains', async (t) => {
  const clock = createManualClock();
  const { client, server } = memoryPair();
  createRpcServer({ registry, clock, log: silentLogger, handlers: nodeHandlers(1) }).accept(server);
  const rpc = new RpcClient(client, { registry, clock });
  server.backpressure = true;
  await rpc.request('node.ping', { payload: new Uint8Array([1]) });
  t.true(server.paused, 'the server paused reading after send reported backpressure');
  server.drain();
  t.false(server.paused);
  rpc.close();
});
