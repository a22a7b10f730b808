// The real Network over WebSocket on 127.0.0.1: round trips, ids, close reasons, binary-only frames, the frame
// size limit, backpressure and drain, pause/resume, ping liveness, connectionsMax, and attaching to an HTTP server.
import test from 'ava';
import * as http from 'node:http';
import { WebSocket, WebSocketServer } from 'ws';
import { createRealNetwork } from '../../src/runtime/real/network.js';
import { AddressInUseError } from '../../src/runtime/errors.js';
import type { CloseReason, Connection, Listener } from '../../src/runtime/network.js';
import { deferred, delay, until, within } from '../helpers/async.js';

type Teardown = { teardown(fn: () => Promise<void> | void): void };

async function echoServer(t: Teardown, options: Parameters<typeof createRealNetwork>[0] = {}) {
  const network = createRealNetwork(options);
  const accepted: Connection[] = [];
  const serverCloses: CloseReason[] = [];
  const listener = await network.listen({ host: '127.0.0.1', port: 0 }, (connection) => {
    accepted.push(connection);
    connection.setHandlers({
      onFrame: (frame) => connection.send(frame),
      onClose: (reason) => serverCloses.push(reason),
    });
  });
  t.teardown(() => listener.close());
  return { network, listener, accepted, serverCloses };
}

function rawClient(t: Teardown, listener: Listener, options: ConstructorParameters<typeof WebSocket>[2] = {}) {
  const ws = new WebSocket(`ws://${listener.address}/`, options);
  const closed = deferred<{ code: number; reason: string }>();
  ws.on('close', (code, reason) => closed.resolve({ code, reason: reason.toString() }));
  ws.on('error', () => {});
  t.teardown(() => ws.terminate());
  const opened = new Promise<void>((resolve) => ws.once('open', () => resolve()));
  return { ws, closed: closed.promise, opened };
}

test('network: a frame makes a round trip and connection ids are unique', async (t) => {
  const { listener, accepted } = await echoServer(t);
  const client = createRealNetwork();
  const opened = deferred<void>();
  const echoed = deferred<Uint8Array>();
  const connection = client.connect(listener.address, { onOpen: () => opened.resolve(), onFrame: (f) => echoed.resolve(f) });
  t.teardown(() => connection.close());
  t.false(connection.isOpen);
  await within(2000, 'open', opened.promise);
  t.true(connection.isOpen);
  t.true(connection.send(new Uint8Array([1, 2, 3, 250])));
  t.deepEqual([...(await within(2000, 'echo', echoed.promise))], [1, 2, 3, 250]);
  t.is(connection.remote, listener.address);
  const second = client.connect(listener.address, {});
  t.teardown(() => second.close());
  await until(2000, 'two accepted connections', () => accepted.length === 2);
  const ids = [connection.id, second.id, ...accepted.map((c) => c.id)];
  t.is(new Set(ids).size, 4, `ids ${ids.join(',')}`);
  t.regex(accepted[0]?.remote ?? '', /^127\.0\.0\.1:\d+$/);
});

test('network: close reasons say who closed (local, remote, error) and onClose fires once', async (t) => {
  const { listener, serverCloses } = await echoServer(t);
  const client = createRealNetwork();
  const closes: CloseReason[] = [];
  const opened = deferred<void>();
  const connection = client.connect(listener.address, { onOpen: () => opened.resolve(), onClose: (r) => closes.push(r) });
  await within(2000, 'open', opened.promise);
  connection.close('shutting down');
  connection.close('twice');
  t.false(connection.isOpen);
  t.false(connection.send(new Uint8Array([1])), 'send on a closing connection is a refused no-op');
  await until(2000, 'both sides closed', () => closes.length === 1 && serverCloses.length === 1);
  t.deepEqual(closes, [{ by: 'local', detail: 'shutting down' }]);
  t.deepEqual(serverCloses, [{ by: 'remote', detail: 'shutting down' }]);

  const refused = deferred<CloseReason>();
  let openedRefused = false;
  // Port 1 on loopback has nothing listening (and is privileged, so no spec listens there either).
  client.connect('127.0.0.1:1', { onOpen: () => (openedRefused = true), onClose: (r) => refused.resolve(r) });
  const reason = await within(2000, 'refused close', refused.promise);
  t.is(reason.by, 'error');
  t.regex(reason.detail, /ECONNREFUSED/);
  t.false(openedRefused);
});

test('network: closing the listener closes its accepted connections', async (t) => {
  const network = createRealNetwork();
  const serverSide = deferred<CloseReason>();
  const listener = await network.listen({ host: '127.0.0.1', port: 0 }, (c) => c.setHandlers({ onClose: (r) => serverSide.resolve(r) }));
  const clientSide = deferred<CloseReason>();
  const opened = deferred<void>();
  createRealNetwork().connect(listener.address, { onOpen: () => opened.resolve(), onClose: (r) => clientSide.resolve(r) });
  await within(2000, 'open', opened.promise);
  await within(3000, 'listener close', listener.close());
  t.deepEqual(await serverSide.promise, { by: 'local', detail: 'listener closed' });
  t.deepEqual(await within(2000, 'client close', clientSide.promise), { by: 'remote', detail: 'listener closed' });
  t.is(network.inboundConnections(), 0);
});

test('network: a text frame is a protocol error that closes the connection', async (t) => {
  const { listener, serverCloses } = await echoServer(t);
  const raw = rawClient(t, listener);
  await within(2000, 'open', raw.opened);
  raw.ws.send('hello as text');
  const closed = await within(2000, 'close', raw.closed);
  t.is(closed.code, 1003);
  await until(2000, 'server close', () => serverCloses.length === 1);
  t.is(serverCloses[0]?.by, 'error');
  t.regex(serverCloses[0]?.detail ?? '', /text frame/);
  t.is(serverCloses[0]?.protocolError, 'CORRUPT_MESSAGE');
});

test('network: a frame over frameBytesMax closes the connection, and sending one throws', async (t) => {
  const { listener, serverCloses } = await echoServer(t, { frameBytesMax: 1024 });
  const raw = rawClient(t, listener);
  await within(2000, 'open', raw.opened);
  raw.ws.send(new Uint8Array(1024), { binary: true });
  raw.ws.send(new Uint8Array(1025), { binary: true });
  const closed = await within(2000, 'close', raw.closed);
  t.is(closed.code, 1009, 'WebSocket "message too big"');
  await until(2000, 'server close', () => serverCloses.length === 1);
  t.is(serverCloses[0]?.by, 'error');
  t.is(serverCloses[0]?.protocolError, 'MESSAGE_TOO_LARGE');

  const small = createRealNetwork({ frameBytesMax: 1024 });
  const opened = deferred<void>();
  const connection = small.connect(listener.address, { onOpen: () => opened.resolve() });
  t.teardown(() => connection.close());
  await within(2000, 'open', opened.promise);
  t.throws(() => connection.send(new Uint8Array(1025)), { instanceOf: RangeError });
});

test('network: send reports backpressure above the high-water mark, and onDrain follows; pause holds frames', async (t) => {
  const network = createRealNetwork();
  let serverConnection: Connection | undefined;
  const received: number[] = [];
  const listener = await network.listen({ host: '127.0.0.1', port: 0 }, (connection) => {
    serverConnection = connection;
    // The server reads nothing at first, so the client's buffers fill.
    connection.pause();
    connection.setHandlers({ onFrame: (frame) => received.push(new DataView(frame.buffer, frame.byteOffset).getUint32(0)) });
  });
  t.teardown(() => listener.close());
  const client = createRealNetwork({ bufferedBytesMax: 256 * 1024, drainBytesLow: 64 * 1024 });
  const opened = deferred<void>();
  const drained = deferred<void>();
  const connection = client.connect(listener.address, { onOpen: () => opened.resolve(), onDrain: () => drained.resolve() });
  t.teardown(() => connection.close());
  await within(2000, 'open', opened.promise);
  await until(2000, 'server side accepted', () => serverConnection !== undefined);

  const frame = new Uint8Array(64 * 1024);
  let sent = 0;
  let accepted = true;
  // Loopback kernel buffers take a few MiB before bytes stay in user space; 2,000 frames (128 MiB) is a bound.
  while (accepted && sent < 2000) {
    new DataView(frame.buffer).setUint32(0, sent);
    accepted = connection.send(frame);
    sent++;
  }
  t.false(accepted, 'send returned false once the buffer passed the high-water mark');
  t.true(connection.bufferedAmount() > 256 * 1024);
  await delay(50);
  t.is(received.length, 0, 'a paused connection delivers nothing');
  serverConnection?.resume();
  await within(5000, 'drain', drained.promise);
  t.true(connection.bufferedAmount() <= 64 * 1024);
  await until(5000, 'every frame delivered', () => received.length === sent);
  t.deepEqual(received, Array.from({ length: sent }, (_, i) => i), 'frames arrive whole and in order');
});

test('network: a peer that stops answering pings is closed with by:error, a live one is kept', async (t) => {
  const { listener, serverCloses, accepted } = await echoServer(t, { pingIntervalMs: 40, pingMissedMax: 3 });
  const silent = rawClient(t, listener, { autoPong: false });
  const live = rawClient(t, listener);
  await within(2000, 'open', Promise.all([silent.opened, live.opened]));
  await within(2000, 'silent peer closed', silent.closed);
  await until(2000, 'server close', () => serverCloses.length === 1);
  t.is(serverCloses[0]?.by, 'error');
  t.regex(serverCloses[0]?.detail ?? '', /liveness/);
  await delay(200);
  t.is(live.ws.readyState, WebSocket.OPEN, 'a peer that answers pings stays connected');
  t.is(accepted.filter((c) => c.isOpen).length, 1);
});

test('network: a client whose server stops answering pings closes with by:error', async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, autoPong: false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  wss.on('connection', (ws) => ws.on('error', () => {}));
  const address = wss.address();
  if (address === null || typeof address === 'string') throw new Error('unexpected address');
  const closed = deferred<CloseReason>();
  createRealNetwork({ pingIntervalMs: 30, pingMissedMax: 2 }).connect(`127.0.0.1:${address.port}`, { onClose: (r) => closed.resolve(r) });
  const reason = await within(2000, 'client liveness close', closed.promise);
  t.is(reason.by, 'error');
  t.regex(reason.detail, /liveness/);
  for (const ws of wss.clients) ws.terminate();
});

test('network: listening on a taken port fails with AddressInUseError', async (t) => {
  const { listener } = await echoServer(t);
  const port = Number(listener.address.split(':').pop());
  await t.throwsAsync(createRealNetwork().listen({ host: '127.0.0.1', port }, () => {}), { instanceOf: AddressInUseError });
});

test('network: connectionsMax refuses extra inbound connections until one closes', async (t) => {
  const { listener, network } = await echoServer(t, { connectionsMax: 2 });
  const first = rawClient(t, listener);
  const second = rawClient(t, listener);
  await within(2000, 'two open', Promise.all([first.opened, second.opened]));
  const third = rawClient(t, listener);
  await within(2000, 'third refused', third.closed);
  t.is(third.ws.readyState, WebSocket.CLOSED);
  t.is(network.inboundConnections(), 2);
  first.ws.close();
  await within(2000, 'first closed', first.closed);
  await until(2000, 'slot released', () => network.inboundConnections() === 1);
  const fourth = rawClient(t, listener);
  await within(2000, 'fourth open', fourth.opened);
});

test('network: attach serves WebSocket beside plain HTTP on one server, and detaching leaves HTTP up', async (t) => {
  const server = http.createServer((request, response) => {
    response.writeHead(request.url === '/metrics' ? 200 : 404, { 'content-type': 'text/plain' });
    response.end(request.url === '/metrics' ? 'raftline_up 1\n' : '');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())));
  const network = createRealNetwork();
  const listener = network.attach(server, (c) => c.setHandlers({ onFrame: (f) => c.send(f) }), { path: '/ws' });
  t.regex(listener.address, /^127\.0\.0\.1:\d+$/);
  const metrics = await fetch(`http://${listener.address}/metrics`);
  t.is(await metrics.text(), 'raftline_up 1\n');

  const wrongPath = rawClient(t, listener);
  await within(2000, 'wrong path refused', wrongPath.closed);
  const ws = new WebSocket(`ws://${listener.address}/ws`);
  t.teardown(() => ws.terminate());
  const echoed = deferred<Buffer>();
  ws.on('message', (data) => echoed.resolve(data as Buffer));
  await new Promise<void>((resolve) => ws.once('open', () => resolve()));
  ws.send(Buffer.from('ping'));
  t.is((await within(2000, 'echo', echoed.promise)).toString(), 'ping');
  await listener.close();
  t.is((await fetch(`http://${listener.address}/metrics`)).status, 200, 'the HTTP server keeps serving');
});
