// Crash safety against a model: random appends, reads, truncations, rolls, deleteRecords, retention, flushes, write
// and sync faults and power losses on a SimDisk. After every crash and recovery the log must be a prefix of the
// model's log that holds at least everything flushed, record for record, with the matching leader epochs.
import test from 'ava';
import fc from 'fast-check';
import type { PartitionLog } from '../../src/storage/partition-log.js';
import type { LogConfig } from '../../src/storage/log-config.js';
import { encodeBatch } from '../../src/storage/record-batch.js';
import { DiskIoError } from '../../src/runtime/errors.js';
import { ManualClock, newDisk, open, readAll } from './helpers.js';

type Op =
  | { kind: 'append'; records: number; valueBytes: number; bumpEpoch: boolean; compression: 'none' | 'gzip' }
  | { kind: 'read'; at: number; maxBytes: number }
  | { kind: 'truncate'; at: number }
  | { kind: 'deleteRecords'; at: number }
  | { kind: 'retention' }
  | { kind: 'flush' }
  | { kind: 'writeFault' }
  | { kind: 'syncFault' }
  | { kind: 'crash' }
  | { kind: 'reopen' };

const fraction = fc.double({ min: 0, max: 1, noNaN: true });
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      kind: fc.constant('append' as const),
      records: fc.integer({ min: 1, max: 5 }),
      valueBytes: fc.integer({ min: 0, max: 120 }),
      bumpEpoch: fc.boolean(),
      compression: fc.constantFrom('none' as const, 'gzip' as const),
    }),
  },
  { weight: 3, arbitrary: fc.record({ kind: fc.constant('read' as const), at: fraction, maxBytes: fc.integer({ min: 1, max: 2000 }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('truncate' as const), at: fraction }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('deleteRecords' as const), at: fraction }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'retention' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'flush' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'writeFault' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'syncFault' as const }) },
  { weight: 3, arbitrary: fc.constant({ kind: 'crash' as const }) },
  { weight: 1, arbitrary: fc.constant({ kind: 'reopen' as const }) },
);

interface ModelRecord {
  offset: number;
  value: string;
  epoch: number;
  batchBase: number;
}

/** The simple model: the records, the log start, and how far the log is known to be durable. */
class Model {
  records: ModelRecord[] = [];
  start = 0;
  durableEnd = 0;
  epoch = 0;
  /** Records before an operation that failed half-way and took the log offline: a crash may bring them back. */
  beforeFailure: ModelRecord[] | undefined;

  get end(): number {
    return this.records.length === 0 ? this.start : this.records[this.records.length - 1]!.offset + 1;
  }

  visible(): Array<[number, string]> {
    return this.records.filter((r) => r.offset >= this.start).map((r) => [r.offset, r.value]);
  }

  /** The epoch entries the log should report for the records it holds. */
  epochs(): Array<{ epoch: number; startOffset: number }> {
    const out: Array<{ epoch: number; startOffset: number }> = [];
    for (const r of this.records) {
      if (r.offset < this.start) continue;
      const last = out[out.length - 1];
      if (!last || r.epoch > last.epoch) out.push({ epoch: r.epoch, startOffset: Math.max(r.batchBase, this.start) });
    }
    return out;
  }
}

const config: Partial<LogConfig> = { segmentBytes: 700, indexIntervalBytes: 200, retentionBytes: 2500, retentionMs: Number.POSITIVE_INFINITY };

async function runScenario(seed: number, ops: readonly Op[]): Promise<void> {
  const disk = newDisk(seed);
  disk.setCrashModel({ keep: 2, lose: 1, tear: 1, corrupt: 1 });
  const clock = new ManualClock();
  let log: PartitionLog = await open(disk, clock, config);
  const model = new Model();
  let counter = 0;
  const fail = (msg: string): never => {
    throw new Error(`seed ${seed}: ${msg}`);
  };

  const check = async (what: string): Promise<void> => {
    const actual = await readAll(log);
    const expected = model.visible();
    if (JSON.stringify(actual) !== JSON.stringify(expected)) fail(`${what}: log ${JSON.stringify(actual)} != model ${JSON.stringify(expected)}`);
    if (log.logEndOffset !== model.end) fail(`${what}: end ${log.logEndOffset} != ${model.end}`);
    if (log.logStartOffset !== model.start) fail(`${what}: start ${log.logStartOffset} != ${model.start}`);
    if (JSON.stringify(log.epochEntries) !== JSON.stringify(model.epochs())) {
      fail(`${what}: epochs ${JSON.stringify(log.epochEntries)} != ${JSON.stringify(model.epochs())}`);
    }
  };

  /**
   * A truncation or deletion that hit an I/O error may have done part of its work (removed some segments), but the
   * log must still be a consistent window of the model: a start no lower, an end no higher, the same records.
   */
  const adoptAfterFailure = async (what: string): Promise<void> => {
    const actual = await readAll(log);
    if (log.logStartOffset < model.start || log.logEndOffset > model.end) fail(`${what} failed and moved the log outside the model`);
    const window = model.visible().filter(([o]) => o >= log.logStartOffset && o < log.logEndOffset);
    if (JSON.stringify(actual) !== JSON.stringify(window)) fail(`${what} failed and left ${JSON.stringify(actual)} != ${JSON.stringify(window)}`);
    // A removal whose directory sync failed is not durable: until the next recovery the old records may return.
    if (log.isOffline) model.beforeFailure ??= model.records.slice();
    model.start = log.logStartOffset;
    model.records = model.records.filter((r) => r.offset < log.logEndOffset);
    model.durableEnd = Math.min(model.durableEnd, model.end);
  };

  /** After a power loss: the recovered log is a prefix of the model holding at least what was flushed. */
  const recoverModel = (): void => {
    const end = log.logEndOffset;
    if (model.beforeFailure) model.records = model.beforeFailure;
    model.beforeFailure = undefined;
    if (end < model.durableEnd) fail(`crash lost flushed records: end ${end} < durable ${model.durableEnd}`);
    if (end > model.end) fail(`crash invented records: end ${end} > ${model.end}`);
    if (end < model.start) fail(`crash lost records below the log start: end ${end} < start ${model.start}`);
    model.records = model.records.filter((r) => r.offset < end);
    model.durableEnd = end;
  };

  const powerLoss = async (): Promise<void> => {
    disk.clearFaults();
    disk.crash();
    log = await open(disk, clock, config);
    recoverModel();
  };

  for (const op of ops) {
    // A log that went offline (a failed sync) refuses writes until it is reopened; only a restart helps.
    if (log.isOffline && op.kind !== 'crash' && op.kind !== 'reopen' && op.kind !== 'read') continue;
    switch (op.kind) {
      case 'append': {
        if (op.bumpEpoch) model.epoch += 1;
        const vals = Array.from({ length: op.records }, () => `v${counter++}-${'x'.repeat(op.valueBytes)}`);
        const bytes = encodeBatch({ timestamp: clock.now(), compression: op.compression, records: vals.map((v) => ({ value: Buffer.from(v) })) });
        try {
          const r = await log.appendAsLeader(bytes, model.epoch);
          if (r.baseOffset !== model.end) fail(`append at ${r.baseOffset}, model end ${model.end}`);
          vals.forEach((value, i) => model.records.push({ offset: r.baseOffset + i, value, epoch: model.epoch, batchBase: r.baseOffset }));
        } catch (err) {
          if (!(err instanceof DiskIoError)) throw err;
        }
        break;
      }
      case 'read': {
        if (model.end === model.start) break;
        const from = Math.min(model.end - 1, model.start + Math.floor(op.at * (model.end - model.start)));
        const r = await log.read({ fromOffset: from, maxBytes: op.maxBytes });
        if (r.batches === 0) fail(`read at ${from} returned nothing`);
        break;
      }
      case 'truncate': {
        if (model.end === model.start) break;
        const to = model.start + Math.floor(op.at * (model.end - model.start));
        const before = model.end;
        let end: number;
        try {
          end = await log.truncateTo(to);
        } catch (err) {
          if (!(err instanceof DiskIoError)) throw err;
          await adoptAfterFailure('truncate');
          break;
        }
        // The cut is at the start of the batch holding `to`; below the log start, the log restarts empty at `to`.
        const holder = model.records.find((r) => r.offset === to);
        const cut = holder ? holder.batchBase : to;
        if (cut < model.start) {
          model.records = [];
          model.start = to;
        } else model.records = model.records.filter((r) => r.offset < cut);
        if (end !== model.end) fail(`truncate to ${to} ended at ${end}, expected ${model.end}`);
        // A real truncation is fsynced, and with it everything below the cut; a no-op one promises nothing.
        if (to < before) model.durableEnd = model.end;
        break;
      }
      case 'deleteRecords': {
        const to = model.start + Math.floor(op.at * (model.end - model.start));
        try {
          await log.deleteRecordsBefore(to);
        } catch (err) {
          if (!(err instanceof DiskIoError)) throw err;
          await adoptAfterFailure('deleteRecords');
          break;
        }
        model.start = Math.max(model.start, to);
        break;
      }
      case 'retention': {
        try {
          await log.enforceRetention();
        } catch (err) {
          if (!(err instanceof DiskIoError)) throw err;
          await adoptAfterFailure('retention');
          break;
        }
        if (log.logStartOffset < model.start) fail('retention moved the log start backwards');
        model.start = log.logStartOffset;
        break;
      }
      case 'flush':
        try {
          await log.flush();
          model.durableEnd = model.end;
        } catch (err) {
          if (!(err instanceof DiskIoError)) throw err;
          if (!log.isOffline) fail('a failed sync must take the log offline');
        }
        break;
      case 'writeFault':
        disk.injectFault({ kind: 'eio', op: 'write', pathPrefix: `${log.dir}/0` });
        break;
      case 'syncFault':
        disk.injectFault({ kind: 'eio', op: 'sync', pathPrefix: log.dir });
        break;
      case 'reopen':
        if (log.isOffline) {
          // An offline log is not closed cleanly: its owner restarts the node, which for the disk is a crash.
          await powerLoss();
          break;
        }
        disk.clearFaults();
        await log.close();
        log = await open(disk, clock, config);
        break;
      case 'crash':
        await powerLoss();
        break;
    }
    if (op.kind !== 'writeFault' && op.kind !== 'syncFault') await check(`after ${op.kind}`);
  }
  disk.clearFaults();
  if (!log.isOffline) await log.close();
}

const append: Op = { kind: 'append', records: 1, valueBytes: 0, bumpEpoch: false, compression: 'none' };

// CI runs a fixed seed so that a landing never depends on luck; elsewhere each run explores a fresh one. Either way
// the seed is logged, and FC_SEED=<seed> replays it (fast-check shrinks to the smallest failing sequence).
const propertySeed = process.env.FC_SEED !== undefined ? Number(process.env.FC_SEED) : process.env.CI ? 20261124 : Math.floor(Math.random() * 2 ** 31);

test('storage: after any sequence of operations and crashes, the log equals the model\'s durable prefix', async (t) => {
  t.log(`fast-check seed ${propertySeed} (replay with FC_SEED=${propertySeed})`);
  await fc.assert(
    fc.asyncProperty(fc.integer({ min: 0, max: 2 ** 30 }), fc.array(opArb, { minLength: 5, maxLength: 45 }), async (seed, ops) => {
      await runScenario(seed, ops);
    }),
    { numRuns: Number(process.env.STORAGE_PROPERTY_RUNS ?? 150), seed: propertySeed },
  );
  t.pass();
});

test('storage: regression — a failed truncation, a crash and a reopen keep the log whole', async (t) => {
  await runScenario(0, [
    { kind: 'append', records: 5, valueBytes: 98, bumpEpoch: false, compression: 'none' },
    { kind: 'append', records: 1, valueBytes: 0, bumpEpoch: false, compression: 'gzip' },
    { kind: 'flush' },
    { kind: 'writeFault' },
    { kind: 'truncate', at: 0 },
    { kind: 'crash' },
    append,
    append,
    { kind: 'reopen' },
  ]);
  t.pass();
});

test('storage: regression — a failed sync during truncation, then a crash, recovers the flushed prefix', async (t) => {
  await runScenario(0, [{ kind: 'syncFault' }, append, { kind: 'truncate', at: 0 }, append, { kind: 'crash' }, append, append]);
  t.pass();
});

test('storage: a long crash-heavy run keeps the model\'s prefix through many recoveries', async (t) => {
  const ops = fc.sample(fc.array(opArb, { minLength: 400, maxLength: 400 }), { seed: 7, numRuns: 1 })[0]!;
  await runScenario(7, ops);
  t.pass();
});

test('storage: regression — a crash after a half-done truncation keeps epochs consistent', async (t) => {
  await runScenario(0, [
    append,
    { kind: 'append', records: 5, valueBytes: 102, bumpEpoch: true, compression: 'none' },
    { kind: 'syncFault' },
    { kind: 'truncate', at: 0 },
    { kind: 'crash' },
    append,
  ]);
  t.pass();
});

test('storage: regression — records deleted by deleteRecords stay deleted across a crash', async (t) => {
  await runScenario(373702334, [
    append,
    append,
    { kind: 'append', records: 3, valueBytes: 0, bumpEpoch: false, compression: 'none' },
    { kind: 'deleteRecords', at: 0.2 },
    append,
    { kind: 'read', at: 0, maxBytes: 1 },
    { kind: 'crash' },
  ]);
  await runScenario(285828544, [
    append,
    append,
    { kind: 'deleteRecords', at: 0.5 },
    { kind: 'crash' },
    { kind: 'retention' },
    append,
    { kind: 'read', at: 0, maxBytes: 1 },
    { kind: 'truncate', at: 0 },
  ]);
  t.pass();
});

test('storage: regression — a truncation whose sync failed, then a crash, recovers a prefix', async (t) => {
  await runScenario(113138165, [
    append,
    { kind: 'append', records: 5, valueBytes: 102, bumpEpoch: false, compression: 'none' },
    append,
    { kind: 'syncFault' },
    { kind: 'truncate', at: 0 },
    { kind: 'crash' },
  ]);
  t.pass();
});

test('storage: regression — truncation below a moved log start with a failing sync leaves the log consistent', async (t) => {
  await runScenario(0, [
    { kind: 'append', records: 2, valueBytes: 0, bumpEpoch: false, compression: 'none' },
    { kind: 'deleteRecords', at: 0.5 },
    { kind: 'syncFault' },
    append,
    { kind: 'deleteRecords', at: 0 },
    append,
    { kind: 'truncate', at: 0 },
  ]);
  t.pass();
});

test('storage: regression — truncating a recovered segment to empty and appending again', async (t) => {
  await runScenario(0, [append, { kind: 'truncate', at: 1 }, { kind: 'crash' }, { kind: 'truncate', at: 0 }, { kind: 'flush' }, append, append]);
  t.pass();
});
