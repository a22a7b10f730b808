// The request dispatcher over real WebSocket on 127.0.0.1: typed handlers, error codes from handlers, the
// per-connection in-flight bound, events, and a flood of thousands of malformed frames of every kind after which
// the node still answers a valid node.ping.
import test from 'ava';
import { Writable } from 'node:stream';
import { WebSocket } from 'ws';
import { z } from 'zod';
import { realClock } from '../../src/runtime/real/clock.js';
import { createLogger } from '../../src/runtime/real/logger.js';
import { createRealNetwork } from '../../src/runtime/real/network.js';
import type { Connection } from '../../src/runtime/network.js';
import { composeFamilies } from '../../src/wire/api.js';
import { encodeFrame } from '../../src/wire/codec.js';
import { RaftlineError } from '../../src/wire/errors.js';
import { createCountingWireMetrics } from '../../src/wire/metrics.js';
import { Bytes, nodeApis } from '../../src/wire/node.js';
import { nodeHandlers } from '../../src/wire/node-handlers.js';
import { createRegistry, type DecodedEvent } from '../../src/wire/registry.js';
import { RpcClient } from '../../src/wire/rpc.js';
import { createRpcServer } from '../../src/wire/server.js';
import { deferred, until, within } from '../helpers/async.js';

const testApis = composeFamilies(nodeApis, {
  'test.fail': { request: z.object({ code: z.literal('NOT_CONTROLLER') }), response: z.object({}) },
  'test.crash': { request: z.object({}), response: z.object({}) },
  'test.slow': { request: z.object({ ms: z.number() }), response: z.object({}) },
  'test.big': { request: z.object({ bytes: z.number().int() }), response: z.object({ payload: Bytes }) },
  'test.unserved': { request: z.object({}), response: z.object({}) },
  'test.notice': { event: z.object({ text: z.string() }) },
});
/** A small frame limit, so oversized frames are cheap to make. */
const frameBytesMax = 64 * 1024;
const registry = createRegistry(testApis, { frameBytesMax });

type Teardown = { teardown(fn: () => Promise<void> | void): void };

async function startNode(t: Teardown, inFlightMax?: number) {
  const logLines: Array<Record<string, unknown>> = [];
  const destination = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      for (const line of chunk.toString().split('\n')) if (line.length > 0) logLines.push(JSON.parse(line) as Record<string, unknown>);
      callback();
    },
  });
  const metrics = createCountingWireMetrics();
  const server = createRpcServer({
    registry,
    clock: realClock,
    log: createLogger({ nodeId: 1, level: 'warn', destination }),
    metrics,
    ...(inFlightMax === undefined ? {} : { inFlightMax }),
    handlers: {
      ...nodeHandlers(1),
      'test.fail': () => {
        throw new RaftlineError('NOT_CONTROLLER', 'the controller is node 3');
      },
      'test.crash': () => {
        throw new Error('secret internal detail');
      },
      'test.slow': async (body, context) => {
        await new Promise((resolve) => setTimeout(resolve, body.ms));
        context.emit('test.notice', { text: `slept ${body.ms}` });
        return {};
      },
      'test.big': (body) => ({ payload: new Uint8Array(body.bytes) }),
    },
  });
  const network = createRealNetwork();
  const listener = await server.listen(network, { host: '127.0.0.1', port: 0 });
  t.teardown(() => listener.close());
  return { server, listener, metrics, logLines };
}

function connectClient(t: Teardown, address: string, onEvent?: (event: DecodedEvent<typeof testApis>) => void) {
  // Requests made before the connection opens wait in the client's outbox.
  const connection: Connection = createRealNetwork().connect(address, {});
  const rpc = new RpcClient(connection, { registry, clock: realClock, timeoutMsDefault: 5000, ...(onEvent ? { onEvent } : {}) });
  t.teardown(() => rpc.close());
  return rpc;
}

test('server: node.ping echoes its payload and node.api-versions lists the served apis', async (t) => {
  const { listener } = await startNode(t);
  const rpc = connectClient(t, listener.address);
  const payload = Uint8Array.from({ length: 1024 }, (_, i) => i % 251);
  const pong = await rpc.request('node.ping', { payload });
  t.deepEqual(Buffer.from(pong.payload), Buffer.from(payload));
  const versions = await rpc.request('node.api-versions', {});
  t.deepEqual(versions, {
    nodeId: 1,
    wireVersions: [1],
    apis: ['node.api-versions', 'node.ping', 'test.big', 'test.crash', 'test.fail', 'test.slow'],
  });
});

test('server: handler errors become codes; an unexpected throw is UNKNOWN_SERVER_ERROR, logged, and the node carries on', async (t) => {
  const { listener, logLines, metrics } = await startNode(t);
  const rpc = connectClient(t, listener.address);
  const fail = await t.throwsAsync(rpc.request('test.fail', { code: 'NOT_CONTROLLER' }), { instanceOf: RaftlineError });
  t.like(fail, { code: 'NOT_CONTROLLER', retriable: true, message: 'the controller is node 3' });
  const crash = await t.throwsAsync(rpc.request('test.crash', {}), { instanceOf: RaftlineError });
  t.is(crash?.code, 'UNKNOWN_SERVER_ERROR');
  t.notRegex(crash?.message ?? '', /secret/, 'internals stay in the log');
  t.true(logLines.some((l) => l['api'] === 'test.crash' && JSON.stringify(l['err']).includes('secret internal detail')));
  const unserved = await t.throwsAsync(rpc.request('test.unserved', {}), { instanceOf: RaftlineError });
  t.is(unserved?.code, 'UNSUPPORTED_VERSION');
  const big = await t.throwsAsync(rpc.request('test.big', { bytes: frameBytesMax }), { instanceOf: RaftlineError });
  t.is(big?.code, 'MESSAGE_TOO_LARGE', 'a response over the frame limit is answered with an error, not dropped');
  t.is((await rpc.request('node.ping', { payload: new Uint8Array([1]) })).payload[0], 1);
  t.is(metrics.requests.get('test.crash UNKNOWN_SERVER_ERROR'), 1);
  t.is(metrics.requests.get('node.ping ok'), 1);
});

test('server: requests beyond inFlightMax on one connection get THROTTLING_QUOTA_EXCEEDED; events reach the client', async (t) => {
  const { listener } = await startNode(t, 2);
  const events: string[] = [];
  const rpc = connectClient(t, listener.address, (event) => events.push(event.body.text));
  const results = await Promise.allSettled([
    rpc.request('test.slow', { ms: 50 }),
    rpc.request('test.slow', { ms: 50 }),
    rpc.request('test.slow', { ms: 50 }),
  ]);
  t.deepEqual(results.map((r) => r.status), ['fulfilled', 'fulfilled', 'rejected']);
  const third = results[2];
  if (third?.status === 'rejected') t.is((third.reason as RaftlineError).code, 'THROTTLING_QUOTA_EXCEEDED');
  await until(2000, 'events', () => events.length === 2);
  t.deepEqual(events, ['slept 50', 'slept 50']);
});

interface RawPeer {
  ws: WebSocket;
  responses: Array<{ cid: number; code: string | undefined }>;
  closed: Promise<{ code: number; reason: string }>;
}

async function rawPeer(t: Teardown, address: string): Promise<RawPeer> {
  const ws = new WebSocket(`ws://${address}/`);
  t.teardown(() => ws.terminate());
  const responses: RawPeer['responses'] = [];
  const closed = deferred<{ code: number; reason: string }>();
  ws.on('message', (data) => {
    const envelope = registry.decodeEnvelope(data as Buffer);
    if (!envelope.ok) throw new Error(`server sent an undecodable frame: ${envelope.rejection.reason}`);
    responses.push({ cid: envelope.value.cid, code: envelope.value.error?.code });
  });
  ws.on('close', (code, reason) => closed.resolve({ code, reason: reason.toString() }));
  ws.on('error', () => {});
  await new Promise<void>((resolve) => ws.once('open', () => resolve()));
  return { ws, responses, closed: closed.promise };
}

test('server: thousands of malformed frames of every kind, then a valid node.ping succeeds', async (t) => {
  const { listener, metrics, server } = await startNode(t);

  // Malformed frames with a readable correlation id: each is answered with its code, the connection stays up.
  const answerable: Array<[string, (cid: number) => Uint8Array]> = [
    ['INVALID_REQUEST', (cid) => encodeFrame({ v: 1, api: 'node.ping', kind: 'request', cid, body: { payload: 'text' } })],
    ['UNSUPPORTED_VERSION', (cid) => encodeFrame({ v: 1, api: 'node.teleport', kind: 'request', cid, body: {} })],
    ['UNSUPPORTED_VERSION', (cid) => encodeFrame({ v: 9, api: 'node.ping', kind: 'request', cid, body: {} })],
    ['INVALID_REQUEST', (cid) => encodeFrame({ v: 1, api: '../../etc/passwd', kind: 'request', cid, body: {} })],
    ['UNSUPPORTED_VERSION', (cid) => encodeFrame({ v: 1, api: 'test.unserved', kind: 'request', cid, body: {} })],
    ['INVALID_REQUEST', (cid) => encodeFrame({ v: 1, api: 'test.notice', kind: 'request', cid, body: {} })],
  ];
  const perKind = 500;
  const peer = await rawPeer(t, listener.address);
  const expected = new Map<number, string>();
  let cid = 0;
  for (let round = 0; round < perKind; round++) {
    for (const [code, make] of answerable) {
      expected.set(cid, code);
      peer.ws.send(make(cid++));
    }
    // Stray responses on a server connection, valid or not, are counted and ignored, never answered.
    peer.ws.send(encodeFrame({ v: 1, api: 'node.ping', kind: 'response', cid: 1_000_000 + round, body: {} }));
    peer.ws.send(encodeFrame({ v: 9, api: 'node.ping', kind: 'response', cid: 2_000_000 + round, body: {} }));
  }
  await within(15_000, 'every answerable frame answered', until(15_000, 'answers', () => peer.responses.length >= expected.size));
  t.is(peer.responses.length, expected.size);
  t.true(peer.responses.every((r) => expected.get(r.cid) === r.code), 'each frame got the code of its own malformation');
  t.is(new Set(peer.responses.map((r) => r.cid)).size, expected.size, 'each exactly once');

  // Frames without a readable correlation id cannot be answered: the connection is closed for each.
  const truncated = encodeFrame({ v: 1, api: 'node.ping', kind: 'request', cid: 1, body: { payload: new Uint8Array(100) } }).subarray(0, 40);
  const unanswerable: Array<[string, () => Uint8Array]> = [
    ['CORRUPT_MESSAGE', () => Uint8Array.from([0xff, ...Array.from({ length: 31 }, (_, i) => (i * 37) & 0xff)])],
    ['CORRUPT_MESSAGE', () => truncated],
    ['INVALID_REQUEST', () => encodeFrame(['not', 'a', 'map'])],
    ['INVALID_REQUEST', () => encodeFrame({ v: 1, api: 'node.ping', kind: 'request', body: {} })],
    ['MESSAGE_TOO_LARGE', () => new Uint8Array(frameBytesMax + 1)],
  ];
  const connectionsPerKind = 20;
  const burst = 30;
  for (const [code, make] of unanswerable) {
    const peers = await Promise.all(Array.from({ length: connectionsPerKind }, () => rawPeer(t, listener.address)));
    for (const p of peers) for (let i = 0; i < burst; i++) p.ws.send(make());
    const closes = await within(10_000, `closes for ${code}`, Promise.all(peers.map((p) => p.closed)));
    t.true(closes.every((c) => c.code === 1000 && c.reason.startsWith(code)), `${code}: ${JSON.stringify(closes[0])}`);
    t.true(peers.every((p) => p.responses.length === 0), 'nothing is answered on a garbage connection');
  }

  const rejectedTotal = [...metrics.rejected.values()].reduce((a, b) => a + b, 0);
  // Every malformed frame is counted once: the unserved api as a request outcome, the rest as rejected frames
  // (stray responses included); on a garbage connection only the first frame is read before it closes.
  t.is(metrics.requests.get('test.unserved UNSUPPORTED_VERSION'), perKind);
  const unservedRequests = perKind;
  const strayResponses = 2 * perKind;
  t.is(rejectedTotal, expected.size - unservedRequests + strayResponses + unanswerable.length * connectionsPerKind);
  t.is(metrics.rejected.get('MESSAGE_TOO_LARGE'), connectionsPerKind);

  // The node is unharmed: the flood connection and a fresh client both get a valid ping answered.
  peer.ws.send(registry.encodeRequest('node.ping', 424242, { payload: new Uint8Array([4, 2]) }));
  await until(2000, 'ping on the flood connection', () => peer.responses.some((r) => r.cid === 424242));
  t.is(peer.responses.find((r) => r.cid === 424242)?.code, undefined, 'answered with a body, not an error');
  const rpc = connectClient(t, listener.address);
  t.deepEqual([...(await rpc.request('node.ping', { payload: new Uint8Array([7]) })).payload], [7]);
  await until(2000, 'garbage connections released', () => server.connections() === 2);
});
