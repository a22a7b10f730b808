// Durability policies and background work: fsync-every-append keeps every acknowledged record through a power loss,
// log.flush.interval.ms flushes from maintenance, and compaction neither blocks appends nor loses data in a crash.
import test from 'ava';
import { encodeBatch } from '../../src/storage/record-batch.js';
import { ManualClock, batch, newDisk, open, readAll } from './helpers.js';

test('storage: with log.flush.interval.messages=1 every acknowledged append survives a power loss', async (t) => {
  for (let seed = 0; seed < 30; seed++) {
    const disk = newDisk(`fsync-${seed}`);
    disk.setCrashModel({ keep: 0, lose: 1, tear: 1, corrupt: 1 });
    const clock = new ManualClock();
    const config = { flushIntervalMessages: 1, segmentBytes: 500 };
    const log = await open(disk, clock, config);
    const acked = 5 + (seed % 17);
    for (let i = 0; i < acked; i++) await log.appendAsLeader(batch(`a${i}`, 1), 0);
    disk.crash();
    const again = await open(disk, clock, config);
    t.is(again.logEndOffset, acked, `seed ${seed}: nothing acknowledged was lost`);
    t.deepEqual((await readAll(again)).map(([, v]) => v), Array.from({ length: acked }, (_, i) => `a${i}-0`));
  }
});

test('storage: with the default policy unflushed appends may be lost, and flush() makes them durable', async (t) => {
  const disk = newDisk('default');
  disk.setCrashModel({ keep: 0, lose: 1, tear: 0, corrupt: 0 });
  const clock = new ManualClock();
  const log = await open(disk, clock);
  for (let i = 0; i < 5; i++) await log.appendAsLeader(batch(`a${i}`, 1), 0);
  await log.flush();
  for (let i = 5; i < 10; i++) await log.appendAsLeader(batch(`a${i}`, 1), 0);
  t.is(log.flushedOffset, 5);
  disk.crash();
  const again = await open(disk, clock);
  t.is(again.logEndOffset, 5, 'only the flushed prefix survives when every unsynced write is lost');
});

test('storage: log.flush.interval.ms flushes on append and from maintenance once the oldest unflushed append is old enough', async (t) => {
  const disk = newDisk('ms');
  disk.setCrashModel({ keep: 0, lose: 1, tear: 0, corrupt: 0 });
  const clock = new ManualClock();
  const log = await open(disk, clock, { flushIntervalMs: 1000 });
  await log.appendAsLeader(batch('a', 1), 0);
  clock.advance(500);
  t.false((await log.maintenance()).flushed);
  t.is(log.flushedOffset, 0);
  clock.advance(600);
  t.true((await log.maintenance()).flushed);
  t.is(log.flushedOffset, 1);
  await log.appendAsLeader(batch('b', 1), 0);
  clock.advance(1000);
  await log.appendAsLeader(batch('c', 1), 0);
  t.is(log.flushedOffset, 3, 'an append past the interval flushes itself');
  const stop = log.startMaintenance(100);
  await log.appendAsLeader(batch('d', 1), 0);
  clock.advance(1200);
  await new Promise((resolve) => setImmediate(resolve));
  await log.flush();
  stop();
  t.is(log.flushedOffset, 4);
});

test('storage: compaction runs beside appends and a crash during or after it loses nothing', async (t) => {
  for (let seed = 0; seed < 12; seed++) {
    const disk = newDisk(`compact-${seed}`);
    disk.setCrashModel({ keep: 1, lose: 1, tear: 1, corrupt: 1 });
    const clock = new ManualClock();
    const config = { segmentBytes: 400, cleanupPolicy: 'compact' as const, flushIntervalMessages: 1 };
    const log = await open(disk, clock, config);
    const latest = new Map<string, number>();
    const put = async (key: string, i: number): Promise<void> => {
      const r = await log.appendAsLeader(encodeBatch({ timestamp: clock.now(), records: [{ key: Buffer.from(key), value: Buffer.from(`${key}=${i}`) }] }), 0);
      latest.set(key, r.baseOffset);
    };
    for (let i = 0; i < 40; i++) await put(`k${i % 5}`, i);
    // Start compaction and keep appending while it runs; both must finish and the appends must all land.
    const compaction = log.compact();
    for (let i = 40; i < 50; i++) await put(`k${i % 7}`, i);
    await compaction;
    t.is(log.logEndOffset, 50);
    const after = await readAll(log);
    for (const [key, offset] of latest) t.true(after.some(([o]) => o === offset), `seed ${seed}: latest ${key} kept`);
    if (seed % 2 === 0) await log.compact();
    disk.crash();
    const again = await open(disk, clock, config);
    t.is(again.logEndOffset, 50, `seed ${seed}: every fsynced append survives`);
    const recovered = await readAll(again);
    for (const [key, offset] of latest) t.true(recovered.some(([o, v]) => o === offset && v.startsWith(`${key}=`)), `seed ${seed}: latest ${key} survives the crash`);
    const offsets = recovered.map(([o]) => o);
    t.deepEqual(offsets, [...offsets].sort((a, b) => a - b), 'offsets still increase');
  }
});
