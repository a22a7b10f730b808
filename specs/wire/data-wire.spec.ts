// The `data.*` wire family: every api is registered, requests and responses survive a CBOR round trip with their
// record bytes intact, bad frames are refused at the edge with INVALID_REQUEST, and a produce with acks=0 travels
// one way (RpcClient.send; the handler answers `noResponse` and nothing comes back).
import test from 'ava';
import { silentLogger } from '../../src/runtime/logger.js';
import { encodeBatch, readBatchHeader } from '../../src/storage/record-batch.js';
import { dataApis, type FetchResponse, type ProduceRequest } from '../../src/wire/data.js';
import { requestEnvelope, responseEnvelope } from '../../src/wire/envelope.js';
import { encodeFrame } from '../../src/wire/codec.js';
import { createCountingWireMetrics } from '../../src/wire/metrics.js';
import { wireRegistry } from '../../src/wire/registry.js';
import { RpcClient } from '../../src/wire/rpc.js';
import { createRpcServer, noResponse } from '../../src/wire/server.js';
import { dataPartitionsPerRequestMax } from '../../src/limits.js';
import { createManualClock } from '../helpers/manual-clock.js';
import { memoryPair } from '../helpers/memory-connection.js';

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

function batch(values: string[], producerId = -1): Buffer {
  return encodeBatch({
    records: values.map((v) => ({ value: Buffer.from(v) })),
    timestamp: 1_700_000_000_000,
    producerId,
    producerEpoch: producerId < 0 ? -1 : 0,
    baseSequence: producerId < 0 ? -1 : 0,
  });
}

test('data wire: every api of the family is a registered request api', (t) => {
  for (const api of Object.keys(dataApis)) t.true(wireRegistry.isRequestApi(api), `${api} is registered`);
});

test('data wire: a produce request round-trips with its record batches byte for byte', (t) => {
  const records = Buffer.concat([batch(['a', 'b']), batch(['c'])]);
  const body: ProduceRequest = { acks: -1, timeoutMs: 5_000, topics: [{ name: 'orders', partitions: [{ partitionId: 3, records }] }] };
  const decoded = wireRegistry.decodeRequest(wireRegistry.encodeRequest('data.produce', 7, body));
  if (!decoded.ok) return t.fail(decoded.rejection.reason);
  t.is(decoded.value.api, 'data.produce');
  t.is(decoded.value.cid, 7);
  if (decoded.value.api !== 'data.produce') return;
  const got = decoded.value.body.topics[0]?.partitions[0]?.records;
  t.truthy(got);
  t.true(Buffer.from(got!).equals(records));
  t.is(readBatchHeader(got!, 0).recordCount, 2);
});

test('data wire: a fetch response round-trips, with the diverging epoch and the current leader when present', (t) => {
  const body: FetchResponse = {
    topics: [
      {
        name: 'orders',
        topicId: 'AAAAAAAAAAAAAAAAAAAAAA',
        partitions: [
          { partitionId: 0, error: null, highWatermark: 10, lastStableOffset: 10, logStartOffset: 0, records: batch(['x']) },
          {
            partitionId: 1,
            error: null,
            highWatermark: 4,
            lastStableOffset: 4,
            logStartOffset: 0,
            divergingEpoch: { epoch: 2, endOffset: 7 },
            records: new Uint8Array(0),
          },
        ],
      },
    ],
  };
  const frame = wireRegistry.encodeResponse('data.fetch', 1, body);
  const envelope = wireRegistry.decodeEnvelope(frame);
  if (!envelope.ok) return t.fail(envelope.rejection.reason);
  const parsed = wireRegistry.parseResponse('data.fetch', envelope.value);
  if (!parsed.ok || parsed.value.body === undefined) return t.fail('response did not parse');
  const [p0, p1] = parsed.value.body.topics[0]!.partitions;
  t.is(readBatchHeader(p0!.records, 0).recordCount, 1);
  t.deepEqual(p1!.divergingEpoch, { epoch: 2, endOffset: 7 });
  t.is(p1!.records.byteLength, 0);
});

test('data wire: list-offsets, init-producer-id and metadata round-trip, defaults applied', (t) => {
  const list = wireRegistry.decodeRequest(
    wireRegistry.encodeRequest('data.list-offsets', 2, { topics: [{ name: 't', partitions: [{ partitionId: 0, timestamp: -2 }] }] }),
  );
  if (!list.ok || list.value.api !== 'data.list-offsets') return t.fail('list-offsets did not decode');
  t.is(list.value.body.replicaId, -1);
  t.is(list.value.body.topics[0]!.partitions[0]!.currentLeaderEpoch, -1);
  const init = wireRegistry.decodeRequest(wireRegistry.encodeRequest('data.init-producer-id', 3, {}));
  t.true(init.ok);
  const meta = wireRegistry.decodeRequest(wireRegistry.encodeRequest('data.metadata', 4, { topics: null }));
  if (!meta.ok || meta.value.api !== 'data.metadata') return t.fail('metadata did not decode');
  t.is(meta.value.body.topics, null);
});

test('data wire: malformed data requests are refused with INVALID_REQUEST and keep their correlation id', (t) => {
  const bad: Array<[string, unknown]> = [
    ['acks=2', { acks: 2, timeoutMs: 10, topics: [{ name: 't', partitions: [{ partitionId: 0, records: new Uint8Array(1) }] }] }],
    ['records as text', { acks: 1, timeoutMs: 10, topics: [{ name: 't', partitions: [{ partitionId: 0, records: 'abc' }] }] }],
    ['negative partition', { acks: 1, timeoutMs: 10, topics: [{ name: 't', partitions: [{ partitionId: -1, records: new Uint8Array(1) }] }] }],
    ['empty topic name', { acks: 1, timeoutMs: 10, topics: [{ name: '', partitions: [{ partitionId: 0, records: new Uint8Array(1) }] }] }],
    ['no topics', { acks: 1, timeoutMs: 10, topics: [] }],
    ['fractional timeout', { acks: 1, timeoutMs: 1.5, topics: [{ name: 't', partitions: [{ partitionId: 0, records: new Uint8Array(1) }] }] }],
  ];
  for (const [what, body] of bad) {
    const decoded = wireRegistry.decodeRequest(encodeFrame(requestEnvelope('data.produce', 41, body)));
    t.false(decoded.ok, what);
    if (!decoded.ok) {
      t.is(decoded.rejection.code, 'INVALID_REQUEST', what);
      t.is(decoded.rejection.cid, 41, what);
    }
  }
  const fetchTooLong = { replicaId: -1, maxWaitMs: 10 ** 9, minBytes: 1, maxBytes: 1, topics: [] };
  t.false(wireRegistry.decodeRequest(encodeFrame(requestEnvelope('data.fetch', 1, fetchTooLong))).ok);
  const badReplica = { replicaId: -2, maxWaitMs: 0, minBytes: 1, maxBytes: 1, topics: [] };
  t.false(wireRegistry.decodeRequest(encodeFrame(requestEnvelope('data.fetch', 1, badReplica))).ok);
  const badTimestamp = { topics: [{ name: 't', partitions: [{ partitionId: 0, timestamp: -3 }] }] };
  t.false(wireRegistry.decodeRequest(encodeFrame(requestEnvelope('data.list-offsets', 1, badTimestamp))).ok);
  const tooMany = {
    replicaId: -1,
    maxWaitMs: 0,
    minBytes: 1,
    maxBytes: 1,
    topics: [0, 1].map((i) => ({
      name: `t${i}`,
      partitions: Array.from({ length: dataPartitionsPerRequestMax / 2 + 1 }, (_, p) => ({
        partitionId: p,
        fetchOffset: 0,
        currentLeaderEpoch: -1,
        lastFetchedEpoch: -1,
        partitionMaxBytes: 1,
      })),
    })),
  };
  const refused = wireRegistry.decodeRequest(encodeFrame(requestEnvelope('data.fetch', 1, tooMany)));
  t.false(refused.ok, 'more partitions than dataPartitionsPerRequestMax over all topics');
  // A response whose records are not bytes fails its schema on the requester's side.
  const badResponse = responseEnvelope('data.fetch', 1, {
    topics: [{ name: 't', partitions: [{ partitionId: 0, error: null, highWatermark: 0, lastStableOffset: 0, logStartOffset: 0, records: [1, 2] }] }],
  });
  t.false(wireRegistry.parseResponse('data.fetch', badResponse).ok);
});

test('data wire: an acks=0 produce goes one way — the handler answers noResponse and no frame comes back', async (t) => {
  const clock = createManualClock();
  const { client, server } = memoryPair();
  const seen: number[] = [];
  const metrics = createCountingWireMetrics();
  const rpcServer = createRpcServer({
    registry: wireRegistry,
    clock,
    log: silentLogger,
    metrics,
    handlers: {
      'data.produce': (body) => {
        seen.push(body.acks);
        if (body.acks === 0) return noResponse;
        return { topics: body.topics.map((tp) => ({ name: tp.name, partitions: tp.partitions.map((p) => ({ partitionId: p.partitionId, error: null, baseOffset: 0, logAppendTime: -1, logStartOffset: 0 })) })) };
      },
    },
  });
  rpcServer.accept(server);
  const rpc = new RpcClient(client, { registry: wireRegistry, clock });
  const records = batch(['fire', 'forget']);
  rpc.send('data.produce', { acks: 0, timeoutMs: 100, topics: [{ name: 't', partitions: [{ partitionId: 0, records }] }] });
  t.is(rpc.inFlight, 0, 'a one-way send holds no in-flight slot');
  await tick();
  t.deepEqual(seen, [0]);
  t.is(server.sent.length, 0, 'the server wrote nothing back');
  const answered = await rpc.request('data.produce', { acks: 1, timeoutMs: 100, topics: [{ name: 't', partitions: [{ partitionId: 0, records }] }] });
  t.is(answered.topics[0]?.partitions[0]?.baseOffset, 0);
  t.is(server.sent.length, 1, 'only the acks=1 request was answered');
  rpc.close();
  t.throws(() => rpc.send('data.produce', { acks: 0, timeoutMs: 100, topics: [{ name: 't', partitions: [{ partitionId: 0, records }] }] }), {
    message: /closed/,
  });
});

test('data wire: a one-way send made before the connection opens waits in the outbox and goes out on open', async (t) => {
  const clock = createManualClock();
  const { client } = memoryPair({ openAtStart: false });
  const rpc = new RpcClient(client, { registry: wireRegistry, clock });
  rpc.send('data.produce', { acks: 0, timeoutMs: 100, topics: [{ name: 't', partitions: [{ partitionId: 0, records: batch(['x']) }] }] });
  t.is(client.sent.length, 0);
  client.open();
  t.is(client.sent.length, 1);
  const decoded = wireRegistry.decodeRequest(client.sent[0]!);
  t.true(decoded.ok && decoded.value.api === 'data.produce');
  await tick();
});
