// The durable Raft log: the same contract as the in-memory one (on SimDisk and on the real disk), plus what only a
// durable log can promise — after a power loss at any moment and a reopen, the log is a prefix of what was written
// that holds every append, truncation and snapshot whose promise had resolved.
import test from 'ava';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { MemoryRaftLog } from '../../src/raft/memory-log.js';
import type { RaftLog } from '../../src/raft/ports.js';
import { RaftInvariantError } from '../../src/raft/quorum.js';
import { metadataLogDir, openRaftStorageLog, RaftLogCorruptError, type StorageRaftLog } from '../../src/raft/storage-log.js';
import type { Disk } from '../../src/runtime/disk.js';
import { silentLogger } from '../../src/runtime/logger.js';
import { openLog } from '../../src/storage/partition-log.js';
import { encodeBatch } from '../../src/storage/record-batch.js';
import { createRealDisk } from '../../src/runtime/real/index.js';
import { createSeededRandom } from '../../src/runtime/seeded-random.js';
import type { RaftEntry } from '../../src/wire/raft.js';
import { SimDisk } from '../../sim/runtime/disk.js';
import { createManualClock } from '../helpers/manual-clock.js';
import { dataEntry, registerRaftLogContract, type LogUnderTest } from './log-contract.js';

const dir = metadataLogDir('data/node-1');

/** A view of `disk` for one process lifetime: once killed, the dead process can no longer touch the disk. */
function incarnation(disk: Disk): { disk: Disk; kill(): void } {
  let alive = true;
  const view = new Proxy(disk, {
    get(target, key, receiver) {
      const value: unknown = Reflect.get(target, key, receiver);
      if (typeof value !== 'function') return value;
      return (...args: unknown[]) => {
        if (!alive) return Promise.reject(new Error('process is dead'));
        return (value as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { disk: view, kill: () => (alive = false) };
}

function storageSubject(disk: Disk, logDir: string): () => Promise<LogUnderTest> {
  return async () => {
    const clock = createManualClock();
    let current: StorageRaftLog = await openRaftStorageLog({ disk, dir: logDir, clock, segmentBytes: 4096 });
    return {
      get log(): RaftLog {
        return current;
      },
      reopen: async () => {
        await current.close();
        current = await openRaftStorageLog({ disk, dir: logDir, clock, segmentBytes: 4096 });
        return current;
      },
      close: () => current.close(),
    };
  };
}

registerRaftLogContract('memory log', () => Promise.resolve({ log: new MemoryRaftLog() }));
let simDirs = 0;
registerRaftLogContract('storage log on SimDisk', async () => {
  // Each test gets its own directory on its own disk.
  simDirs++;
  return storageSubject(new SimDisk({ random: createSeededRandom(simDirs) }), dir)();
});
let realRoot: Promise<string> | undefined;
let realDirs = 0;
registerRaftLogContract('storage log on the real disk', async () => {
  realRoot ??= mkdtemp(join(tmpdir(), 'raftline-raft-log-'));
  return storageSubject(createRealDisk(await realRoot), `log-${++realDirs}`)();
});
test.after.always(async () => {
  if (realRoot !== undefined) await rm(await realRoot, { recursive: true, force: true });
});

test('storage log: an append that breaks the log is refused whole, before anything is kept', async (t) => {
  const log = await openRaftStorageLog({ disk: new SimDisk({ random: createSeededRandom(6) }), dir, clock: createManualClock() });
  await log.append([dataEntry(0, 1), dataEntry(1, 2)]);
  await t.throwsAsync(async () => log.append([dataEntry(2, 3), dataEntry(3, 2)]), { instanceOf: RaftInvariantError });
  t.is(log.endOffset(), 2);
  await log.close();
});

test('storage log: entries are one record batch each, in segments that roll, and all come back on reopen', async (t) => {
  const disk = new SimDisk({ random: createSeededRandom(7) });
  const clock = createManualClock();
  const log = await openRaftStorageLog({ disk, dir, clock, segmentBytes: 4096 });
  const written: RaftEntry[] = [];
  for (let i = 0; i < 60; i++) {
    const batch = [dataEntry(i * 2, 1 + Math.floor(i / 20), 90), dataEntry(i * 2 + 1, 1 + Math.floor(i / 20), 90)];
    written.push(...batch);
    await log.append(batch);
  }
  await log.close();
  const segments = (await disk.list(dir)).filter((name) => name.endsWith('.log'));
  t.true(segments.length > 1, `the log rolled (${segments.length} segments)`);
  const again = await openRaftStorageLog({ disk, dir, clock, segmentBytes: 4096 });
  t.deepEqual(again.read(0, 1000), written);
  t.deepEqual(again.endOffsetForEpoch(2), { epoch: 2, endOffset: 80 });
  await again.close();
});

test('storage log: an append beyond the memory bound is refused, and nothing of it is kept', async (t) => {
  const disk = new SimDisk({ random: createSeededRandom(8) });
  const log = await openRaftStorageLog({ disk, dir, clock: createManualClock(), entriesInMemoryMax: 3 });
  await log.append([dataEntry(0, 1), dataEntry(1, 1)]);
  await t.throwsAsync(log.append([dataEntry(2, 1), dataEntry(3, 1)]), { message: /snapshot first/ });
  t.is(log.endOffset(), 2);
  await log.createSnapshot({ endOffset: 2, epoch: 1 }, Uint8Array.of(1));
  await log.append([dataEntry(2, 1), dataEntry(3, 1)]);
  t.is(log.endOffset(), 4);
  await log.close();
});

test('storage log: a damaged snapshot file stops the open instead of silently starting over', async (t) => {
  const disk = new SimDisk({ random: createSeededRandom(9) });
  const clock = createManualClock();
  const log = await openRaftStorageLog({ disk, dir, clock });
  await log.append([dataEntry(0, 1), dataEntry(1, 1)]);
  await log.createSnapshot({ endOffset: 2, epoch: 1 }, Uint8Array.from({ length: 64 }, (_, i) => i));
  await log.close();
  const name = (await disk.list(dir)).find((n) => n.endsWith('.checkpoint') && !n.startsWith('leader') && !n.startsWith('recovery') && !n.startsWith('log-start'));
  t.truthy(name);
  const path = `${dir}/${name}`;
  const bytes = await disk.readFile(path);
  bytes[20] = (bytes[20] ?? 0) ^ 0xff;
  await disk.writeFileAtomic(path, bytes);
  await t.throwsAsync(openRaftStorageLog({ disk, dir, clock }), { instanceOf: RaftLogCorruptError, message: /CRC/ });
});

test('storage log: a failed fsync takes the log offline, so later writes are refused until it is reopened', async (t) => {
  const disk = new SimDisk({ random: createSeededRandom(10) });
  const clock = createManualClock();
  const log = await openRaftStorageLog({ disk, dir, clock });
  await log.append([dataEntry(0, 1)]);
  disk.injectFault({ kind: 'eio', op: 'sync', count: 1 });
  await t.throwsAsync(log.append([dataEntry(1, 1)]));
  t.true(log.isOffline);
  await t.throwsAsync(log.append([dataEntry(2, 1)]), { message: /offline/ });
  const again = await openRaftStorageLog({ disk, dir, clock });
  t.deepEqual(again.read(0, 10)[0], dataEntry(0, 1));
  t.true(again.endOffset() <= 2, 'at most the entry whose fsync failed may have reached the file');
  await again.close();
});

// Crash at a random moment: the acknowledged state A (everything whose promise resolved) and the state in memory M
// (A plus writes still in flight) bound what recovery may leave: a prefix of M at least as long as A.
const crashSeeds = Array.from({ length: 40 }, (_, i) => i + 1);
test('storage log: after a crash at any moment, the reopened log is a prefix of what was written and keeps every acknowledged write', async (t) => {
  for (const seed of crashSeeds) {
    const random = createSeededRandom(seed);
    const disk = new SimDisk({ random: createSeededRandom(seed * 1000) });
    disk.setCrashModel({ keep: 1, lose: 1, tear: 2, corrupt: 1 });
    const clock = createManualClock();
    let life = incarnation(disk);
    let log = await openRaftStorageLog({ disk: life.disk, dir, clock, segmentBytes: 2048 });
    let epoch = 1;
    let acknowledged: { start: number; entries: RaftEntry[] } = { start: 0, entries: [] };
    const rounds = 2 + random.int(4);
    for (let round = 0; round < rounds; round++) {
      // Acknowledged work: appends, a truncation, sometimes a snapshot — each awaited.
      for (let i = 0; i < 1 + random.int(6); i++) {
        if (random.int(4) === 0) epoch += 1;
        const from = log.endOffset();
        await log.append(Array.from({ length: 1 + random.int(4) }, (_, k) => dataEntry(from + k, epoch, 1 + random.int(300))));
      }
      if (random.int(3) === 0 && log.endOffset() - log.startOffset() > 2) await log.truncateTo(log.endOffset() - 1 - random.int(2));
      if (random.int(4) === 0 && log.endOffset() > log.startOffset()) {
        const end = log.startOffset() + 1 + random.int(log.endOffset() - log.startOffset());
        await log.createSnapshot({ endOffset: end, epoch: log.entryAt(end - 1)!.epoch }, Uint8Array.of(seed, end));
      }
      acknowledged = { start: log.startOffset(), entries: [...log.read(log.startOffset(), 1_000_000)] };
      // In flight at the crash: appends not awaited.
      const inFlight: Array<Promise<void>> = [];
      for (let i = 0; i < random.int(4); i++) {
        const from = log.endOffset();
        inFlight.push(log.append(Array.from({ length: 1 + random.int(3) }, (_, k) => dataEntry(from + k, epoch, 1 + random.int(300)))));
      }
      const inMemory = [...log.read(log.startOffset(), 1_000_000)];
      // Let some of them get somewhere, then pull the plug.
      for (let i = random.int(30); i > 0; i--) await Promise.resolve();
      disk.crash();
      life.kill();
      await Promise.allSettled(inFlight);
      life = incarnation(disk);
      log = await openRaftStorageLog({ disk: life.disk, dir, clock, segmentBytes: 2048 });
      const recovered = log.read(log.startOffset(), 1_000_000);
      t.is(log.startOffset(), acknowledged.start, `seed ${seed}: the log start (snapshot) survives`);
      t.true(recovered.length >= acknowledged.entries.length, `seed ${seed}: every acknowledged entry survives (${recovered.length} < ${acknowledged.entries.length})`);
      t.deepEqual(recovered, inMemory.slice(0, recovered.length), `seed ${seed}: the recovered log is a prefix of what was written`);
      epoch = Math.max(epoch, log.lastEpoch());
    }
    await log.close();
  }
});

test('storage log: batches that are not one Raft entry each are refused on open, not misread', async (t) => {
  const disk = new SimDisk({ random: createSeededRandom(11) });
  const clock = createManualClock();
  const partition = await openLog({ disk, dir, clock, log: silentLogger });
  await partition.appendAsLeader(encodeBatch({ records: [{ value: Uint8Array.of(1) }, { value: Uint8Array.of(2) }], timestamp: clock.now() }), 1);
  await partition.close();
  await t.throwsAsync(openRaftStorageLog({ disk, dir, clock }), { instanceOf: RaftLogCorruptError, message: /2 records/ });
  // And an unknown control record is not taken for data.
  const other = `${dir}-2`;
  const second = await openLog({ disk, dir: other, clock, log: silentLogger });
  await second.appendAsLeader(encodeBatch({ records: [{ key: new TextEncoder().encode('abort'), value: Uint8Array.of(0) }], isControl: true, timestamp: clock.now() }), 1);
  await second.close();
  await t.throwsAsync(openRaftStorageLog({ disk, dir: other, clock }), { instanceOf: RaftLogCorruptError, message: /unknown control record/ });
});
