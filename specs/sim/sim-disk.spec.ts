// SimDisk keeps the Disk port's durability contract adversarially: synced data survives every crash, unsynced data
// and unsynced directory entries may not, dead handles reject, and faults surface as typed errors.
import test from 'ava';
import { SimDisk } from '../../sim/runtime/disk.js';
import { createSeededRandom } from '../../src/runtime/seeded-random.js';
import { DiskFullError, DiskIoError, DiskNotFoundError } from '../../src/runtime/errors.js';

const enc = (s: string): Uint8Array => Buffer.from(s, 'utf8');
const dec = (b: Uint8Array): string => Buffer.from(b).toString('utf8');

test('sim-disk: synced bytes and synced names survive a crash under any crash model', async (t) => {
  for (let seed = 0; seed < 50; seed++) {
    const disk = new SimDisk({ random: createSeededRandom(seed) });
    disk.setCrashModel({ keep: 1, lose: 1, tear: 1, corrupt: 1 });
    await disk.mkdir('d');
    await disk.syncDir('.');
    const f = await disk.open('d/a', { create: true });
    await f.append(enc('hello '));
    await f.sync();
    await disk.syncDir('d');
    await f.append(enc('world'));
    disk.crash();
    const after = dec(await disk.readFile('d/a'));
    t.true(after.startsWith('hello '), `seed ${seed}: synced prefix kept, got ${JSON.stringify(after)}`);
    t.true(after.length <= 'hello world'.length);
  }
});

test('sim-disk: a crash keeps, loses, tears or corrupts unsynced writes, and the same seed replays the same outcome', async (t) => {
  const outcomes = new Set<string>();
  for (let seed = 0; seed < 200; seed++) {
    const run = async (): Promise<string> => {
      const disk = new SimDisk({ random: createSeededRandom(seed) });
      disk.setCrashModel({ keep: 1, lose: 1, tear: 1, corrupt: 1 });
      const f = await disk.open('x', { create: true });
      await disk.syncDir('.');
      await f.append(enc('abcdefgh'));
      disk.crash();
      return dec(await disk.readFile('x'));
    };
    const a = await run();
    t.is(a, await run(), 'deterministic given the seed');
    if (a === 'abcdefgh') outcomes.add('kept');
    else if (a === '') outcomes.add('lost');
    else if ('abcdefgh'.startsWith(a)) outcomes.add('torn');
    else outcomes.add('corrupt');
  }
  t.deepEqual([...outcomes].sort(), ['corrupt', 'kept', 'lost', 'torn']);
});

test('sim-disk: an unsynced create may be undone by a crash, a synced one never', async (t) => {
  let undone = 0;
  for (let seed = 0; seed < 40; seed++) {
    const disk = new SimDisk({ random: createSeededRandom(seed) });
    disk.setCrashModel({ keep: 1, lose: 1, tear: 0, corrupt: 0 });
    const f = await disk.open('new', { create: true });
    await f.append(enc('x'));
    await f.sync();
    disk.crash();
    if (!(await disk.exists('new'))) undone += 1;
    const g = await disk.open('kept', { create: true });
    await g.sync();
    await disk.syncDir('.');
    disk.crash();
    t.true(await disk.exists('kept'));
  }
  t.true(undone > 5 && undone < 35, `undone ${undone} of 40`);
});

test('sim-disk: writeFileAtomic is wholly old or wholly new after a crash', async (t) => {
  const disk = new SimDisk({ random: createSeededRandom(3) });
  disk.setCrashModel({ keep: 0, lose: 1, tear: 1, corrupt: 1 });
  await disk.writeFileAtomic('cp', enc('one'));
  await disk.writeFileAtomic('cp', enc('two'));
  disk.crash();
  t.is(dec(await disk.readFile('cp')), 'two');
});

test('sim-disk: handles opened before a crash reject with DiskIoError', async (t) => {
  const disk = new SimDisk({ random: createSeededRandom(1) });
  const f = await disk.open('f', { create: true });
  disk.crash();
  await t.throwsAsync(f.append(enc('x')), { instanceOf: DiskIoError });
  await t.throwsAsync(f.read(0, 1), { instanceOf: DiskIoError });
});

test('sim-disk: injected faults and capacity surface as typed errors and write nothing', async (t) => {
  const disk = new SimDisk({ random: createSeededRandom(1), capacityBytes: 10 });
  const f = await disk.open('f', { create: true });
  await f.append(enc('12345678'));
  await t.throwsAsync(f.append(enc('abc')), { instanceOf: DiskFullError });
  t.is(f.size(), 8);
  disk.injectFault({ kind: 'eio', op: 'write', pathPrefix: 'f', count: 2 });
  await t.throwsAsync(f.append(enc('a')), { instanceOf: DiskIoError });
  await t.throwsAsync(f.write(enc('a'), 0), { instanceOf: DiskIoError });
  await f.append(enc('a'));
  t.is(dec(await f.read(0, 100)), '12345678a');
  disk.injectFault({ kind: 'eio', op: 'sync' });
  await t.throwsAsync(f.sync(), { instanceOf: DiskIoError });
  await f.sync();
  t.is(disk.usedBytes(), 9);
  await t.throwsAsync(disk.open('missing'), { instanceOf: DiskNotFoundError });
});

test('sim-disk: flipBit corrupts stored bytes durably', async (t) => {
  const disk = new SimDisk({ random: createSeededRandom(5) });
  const f = await disk.open('f', { create: true });
  await f.append(new Uint8Array(16));
  await f.sync();
  await disk.syncDir('.');
  disk.flipBit('f', 3);
  const now = await disk.readFile('f');
  t.not(now[3], 0);
  disk.crash();
  t.deepEqual(await disk.readFile('f'), now);
});

test('sim-disk: directories list sorted names, removeDir drops a subtree, rename moves files', async (t) => {
  const disk = new SimDisk({ random: createSeededRandom(2) });
  await disk.mkdir('a/b');
  await (await disk.open('a/b/2', { create: true })).append(enc('two'));
  await (await disk.open('a/b/1', { create: true })).append(enc('one'));
  t.deepEqual(await disk.list('a/b'), ['1', '2']);
  await disk.rename('a/b/1', 'a/b/3');
  t.deepEqual(await disk.list('a/b'), ['2', '3']);
  t.is(dec(await disk.readFile('a/b/3')), 'one');
  await disk.removeDir('a/b');
  t.deepEqual(await disk.list('a'), []);
  t.false(await disk.exists('a/b/2'));
});
