// Vectored frames (src/wire/codec.ts encodeFrameParts): large byte strings are parts of their own, never copied, and
// the parts joined are byte for byte the frame encodeFrame would give; the real network's sendParts delivers them as
// one frame from either side, and the wire server answers with them.
import test from 'ava';
import fc from 'fast-check';
import { decodeFrame, encodeFrame, encodeFrameParts } from '../../src/wire/codec.js';
import { RaftlineError } from '../../src/wire/errors.js';
import { wireRegistry } from '../../src/wire/registry.js';
import { createRealNetwork } from '../../src/runtime/real/network.js';
import { sendFrameParts, type Connection } from '../../src/runtime/network.js';
import { deferred, within } from '../helpers/async.js';

const bytes = (n: number, fill: number): Buffer => Buffer.alloc(n, fill);

test('frame parts: a fetch-shaped value joins to exactly encodeFrame bytes, its batches are parts by reference', (t) => {
  const a = bytes(40_000, 1);
  const b = bytes(70_000, 2);
  const small = bytes(100, 3);
  const value = { v: 1, api: 'data.fetch', kind: 'response', cid: 9, body: { topics: [{ name: 't', partitions: [{ p: 0, records: a }, { p: 1, records: small }, { p: 2, records: b }] }] } };
  const parts = encodeFrameParts(value, 16 * 1024 * 1024, 16 * 1024);
  t.deepEqual(Buffer.concat(parts), Buffer.from(encodeFrame(value)));
  t.true(parts.includes(a), 'the first large byte string is a part of its own');
  t.true(parts.includes(b), 'so is the second');
  t.false(parts.includes(small), 'a small one is encoded in place');
  t.is(parts.length, 5);
  t.deepEqual(value.body.topics[0]!.partitions[0]!.records, a, 'the value given is not changed');
});

test('frame parts: without a large byte string the frame is one part, as encodeFrame gives it', (t) => {
  const value = { a: 1, b: bytes(10, 7), list: ['x', null] };
  const parts = encodeFrameParts(value);
  t.is(parts.length, 1);
  t.deepEqual(Buffer.from(parts[0]!), Buffer.from(encodeFrame(value)));
});

test('frame parts: any value and byte string sizes (each length-head form) join to encodeFrame bytes', (t) => {
  fc.assert(
    fc.property(
      fc.array(fc.record({ n: fc.integer({ min: 0, max: 70_000 }), tag: fc.string({ maxLength: 4 }) }), { maxLength: 6 }),
      fc.integer({ min: 1, max: 300 }),
      (items, bytesMin) => {
        const value = { items: items.map(({ n, tag }, i) => ({ tag, data: bytes(n, i) })) };
        const parts = encodeFrameParts(value, 16 * 1024 * 1024, bytesMin);
        t.deepEqual(Buffer.concat(parts), Buffer.from(encodeFrame(value)));
        const decoded = decodeFrame(Buffer.concat(parts));
        t.true(decoded.ok);
      },
    ),
    { numRuns: 60 },
  );
});

test('frame parts: a large byte string holding the placeholder pattern is still encoded right', (t) => {
  const tricky = Buffer.concat([Buffer.from('52464c2d53504c4943452d3100000000', 'hex'), bytes(20_000, 5)]);
  const smallTricky = Buffer.from('52464c2d53504c4943452d3100000000', 'hex');
  const value = { big: tricky, small: smallTricky, other: bytes(30_000, 6) };
  t.deepEqual(Buffer.concat(encodeFrameParts(value, 16 * 1024 * 1024, 17_000)), Buffer.from(encodeFrame(value)));
  t.deepEqual(Buffer.concat(encodeFrameParts(value, 16 * 1024 * 1024, 10)), Buffer.from(encodeFrame(value)));
  // The pattern, with the index the next placeholder would have, encoded before the real placeholder.
  const first = { small: smallTricky, big: tricky };
  t.deepEqual(Buffer.concat(encodeFrameParts(first, 16 * 1024 * 1024, 17_000)), Buffer.from(encodeFrame(first)));
});

test('frame parts: a frame over the limit is refused with MESSAGE_TOO_LARGE, counting the spliced bytes', (t) => {
  const error = t.throws(() => encodeFrameParts({ data: bytes(50_000, 1) }, 40_000, 1_000));
  t.true(error instanceof RaftlineError && error.code === 'MESSAGE_TOO_LARGE');
});

test('frame parts: a response in parts decodes through the registry like the joined frame', (t) => {
  const records = bytes(64 * 1024, 9);
  const body = { topics: [{ name: 't', partitions: [{ partitionId: 0, error: null, highWatermark: 5, lastStableOffset: 5, logStartOffset: 0, records }] }] };
  const parts = wireRegistry.encodeResponseParts('data.fetch', 3, body);
  t.true(parts.length > 1);
  const envelope = wireRegistry.decodeEnvelope(Buffer.concat(parts));
  if (!envelope.ok) return t.fail(envelope.rejection.reason);
  const response = wireRegistry.parseResponse('data.fetch', envelope.value);
  if (!response.ok) return t.fail(response.rejection.reason);
  t.deepEqual(Buffer.from(response.value.body!.topics[0]!.partitions[0]!.records), records);
});

test('network: sendParts delivers one frame, the parts back to back, from the server side and the client side', async (t) => {
  const network = createRealNetwork();
  const serverSide = deferred<Connection>();
  const atServer: Uint8Array[] = [];
  const listener = await network.listen({ host: '127.0.0.1', port: 0 }, (connection) => {
    connection.setHandlers({ onFrame: (f) => atServer.push(f) });
    serverSide.resolve(connection);
  });
  t.teardown(() => listener.close());
  const atClient: Uint8Array[] = [];
  const got = deferred<void>();
  const opened = deferred<void>();
  const client = network.connect(listener.address, {
    onOpen: () => opened.resolve(),
    onFrame: (f) => {
      atClient.push(f);
      if (atClient.length === 3) got.resolve();
    },
  });
  t.teardown(() => client.close());
  await within(2000, 'open', opened.promise);
  const server = await within(2000, 'accepted', serverSide.promise);
  // Header sizes of all three forms: < 126, < 64 KiB, and larger; an empty part among them.
  const shapes = [[bytes(3, 1), bytes(0, 0), bytes(50, 2)], [bytes(100, 3), bytes(30_000, 4)], [bytes(10, 5), bytes(200_000, 6), bytes(7, 7)]];
  for (const parts of shapes) t.true(sendFrameParts(server, parts));
  await within(3000, 'three frames at the client', got.promise);
  t.deepEqual(atClient.map((f) => Buffer.from(f)), shapes.map((p) => Buffer.concat(p)));
  // From the client the frame is masked part by part: parts starting at every phase of the 4-byte key.
  const fromClient = [[bytes(5, 8), bytes(70_000, 9)], [bytes(3, 10), bytes(0, 0), bytes(130, 11), bytes(1, 12), bytes(2, 13), bytes(200, 14)]];
  for (const parts of fromClient) t.true(client.sendParts!(parts));
  const t0 = Date.now();
  while (atServer.length < 2 && Date.now() - t0 < 3000) await new Promise((r) => setTimeout(r, 5));
  t.deepEqual(atServer.map((f) => Buffer.from(f)), fromClient.map((p) => Buffer.concat(p)));
});
