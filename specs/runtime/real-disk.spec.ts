// The real Disk over node:fs: positions and sizes, ordering of unawaited operations, durability calls, the
// errno → typed error mapping (a read-only directory, a full device), sorted listings and atomic replacement.
import test from 'ava';
import { execFile } from 'node:child_process';
import * as fs from 'node:fs/promises';
import { tmpdir } from 'node:os';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { createRealDisk, mapFsError } from '../../src/runtime/real/disk.js';
import { fallocateAvailable } from '../../src/runtime/real/fallocate.js';
import {
  DiskExistsError,
  DiskFullError,
  DiskIoError,
  DiskNotFoundError,
  DiskPermissionError,
} from '../../src/runtime/errors.js';

const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
const text = (data: Uint8Array): string => new TextDecoder().decode(data);

/** A fresh temporary root, removed when the test ends. */
async function scratch(t: { teardown(fn: () => Promise<void>): void }): Promise<string> {
  const root = await fs.mkdtemp(path.join(tmpdir(), 'raftline-disk-'));
  t.teardown(() => fs.rm(root, { recursive: true, force: true }));
  return root;
}

test('disk: append returns the start position and size() counts it at once', async (t) => {
  const disk = createRealDisk(await scratch(t));
  const file = await disk.open('a.log', { create: true });
  t.is(file.size(), 0);
  const first = file.append(bytes('hello '));
  t.is(file.size(), 6, 'size includes an append that has not completed yet');
  const second = file.append(bytes('world'));
  t.is(await first, 0);
  t.is(await second, 6);
  t.is(text(await file.read(0, 11)), 'hello world');
  t.is(text(await file.read(6, 100)), 'world', 'a read past the end is shorter, not an error');
  t.is((await file.read(11, 10)).byteLength, 0);
  await file.close();
});

test('disk: unawaited operations on one file take effect in issue order', async (t) => {
  const disk = createRealDisk(await scratch(t));
  const file = await disk.open('order.log', { create: true });
  const appends: Promise<number>[] = [];
  for (let i = 0; i < 200; i++) appends.push(file.append(bytes(`${String(i).padStart(3, '0')};`)));
  const readBack = file.read(0, 800);
  void file.truncate(400);
  const afterTruncate = file.read(0, 800);
  const synced = file.sync();
  t.deepEqual(await Promise.all(appends), Array.from({ length: 200 }, (_, i) => i * 4));
  t.is(text(await readBack), Array.from({ length: 200 }, (_, i) => `${String(i).padStart(3, '0')};`).join(''));
  t.is((await afterTruncate).byteLength, 400, 'a read issued after truncate sees the cut file');
  await synced;
  t.is(file.size(), 400);
  await file.close();
  t.is((await disk.stat('order.log')).size, 400);
});

test('disk: positional writes extend the file, truncate cuts it, and a reopen sees the synced bytes', async (t) => {
  const root = await scratch(t);
  const disk = createRealDisk(root);
  const file = await disk.open('w.bin', { create: true });
  await file.write(bytes('XYZ'), 10);
  t.is(file.size(), 13);
  const head = await file.read(0, 13);
  t.deepEqual([...head.subarray(0, 10)], new Array<number>(10).fill(0), 'the gap reads as zeros');
  await file.write(bytes('ab'), 0);
  await file.truncate(11);
  await file.datasync();
  await file.sync();
  await file.close();
  const again = await disk.open('w.bin');
  t.is(again.size(), 11);
  t.is(text(await again.read(0, 2)), 'ab');
  t.is(text(await again.read(10, 5)), 'X');
  t.is(text(await again.read(0, 11)).length, 11);
  await again.close();
  t.is((await fs.readFile(path.join(root, 'w.bin'))).byteLength, 11, 'the bytes are on the host file system');
});

test('disk: missing and existing paths map to DiskNotFoundError and DiskExistsError', async (t) => {
  const disk = createRealDisk(await scratch(t));
  await t.throwsAsync(disk.open('missing.log'), { instanceOf: DiskNotFoundError });
  await t.throwsAsync(disk.readFile('missing.log'), { instanceOf: DiskNotFoundError });
  await t.throwsAsync(disk.remove('missing.log'), { instanceOf: DiskNotFoundError });
  await t.throwsAsync(disk.removeDir('missing'), { instanceOf: DiskNotFoundError });
  await t.throwsAsync(disk.list('missing'), { instanceOf: DiskNotFoundError });
  await t.throwsAsync(disk.stat('missing'), { instanceOf: DiskNotFoundError });
  await t.throwsAsync(disk.rename('missing', 'other'), { instanceOf: DiskNotFoundError });
  const file = await disk.open('x.log', { create: true, exclusive: true });
  await file.close();
  const error = await t.throwsAsync(disk.open('x.log', { create: true, exclusive: true }), { instanceOf: DiskExistsError });
  t.is(error?.path, 'x.log', 'errors name the caller\'s path, not the host path');
  t.false(await disk.exists('missing.log'));
  t.true(await disk.exists('x.log'));
});

test('disk: a read-only file handle refuses writes with DiskPermissionError', async (t) => {
  const disk = createRealDisk(await scratch(t));
  await disk.writeFileAtomic('ro.bin', bytes('abc'));
  const file = await disk.open('ro.bin', { readOnly: true });
  await t.throwsAsync(file.append(bytes('d')), { instanceOf: DiskPermissionError });
  t.is(text(await file.read(0, 3)), 'abc');
  await file.close();
  await t.throwsAsync(file.read(0, 1), { instanceOf: DiskIoError }, 'a closed file refuses reads');
});

test('disk: writes under a read-only directory fail with DiskPermissionError', async (t) => {
  const root = await scratch(t);
  await fs.writeFile(path.join(root, 'existing.log'), 'x');
  await fs.chmod(path.join(root, 'existing.log'), 0o444);
  await fs.chmod(root, 0o555);
  const fixture = fileURLToPath(new URL('../fixtures/read-only-disk.ts', import.meta.url));
  // Root ignores permission bits, so the attempt runs as an unprivileged user when the specs run as root.
  const asRoot = process.getuid?.() === 0;
  const { stdout } = await promisify(execFile)(process.execPath, ['--import=tsx', fixture, root], {
    ...(asRoot ? { uid: 65534, gid: 65534 } : {}),
    env: { ...process.env, TSX_TSCONFIG_PATH: path.resolve('tsconfig.json') },
  });
  t.deepEqual(JSON.parse(stdout), {
    'open-create': 'DiskPermissionError',
    'write-file-atomic': 'DiskPermissionError',
    mkdir: 'DiskPermissionError',
    'open-existing-for-write': 'DiskPermissionError',
  });
});

test('disk: a full device (ENOSPC) is DiskFullError and the handle then refuses further writes', async (t) => {
  try {
    await fs.access('/dev/full', fs.constants.W_OK);
  } catch {
    t.pass('no /dev/full on this host; the mapping is covered by the errno table spec');
    return;
  }
  const disk = createRealDisk();
  const file = await disk.open('/dev/full');
  await t.throwsAsync(file.append(new Uint8Array(4096)), { instanceOf: DiskFullError });
  const refused = await t.throwsAsync(file.append(new Uint8Array(1)), { instanceOf: DiskIoError });
  t.true(refused?.cause instanceof DiskFullError, 'the refusal names the first failure');
  await file.close();
});

test('disk: errno codes map to the typed errors, others to DiskIoError with the cause', (t) => {
  const errno = (code: string): Error => Object.assign(new Error(code), { code });
  t.true(mapFsError(errno('ENOSPC'), 'p') instanceof DiskFullError);
  t.true(mapFsError(errno('EIO'), 'p') instanceof DiskIoError);
  t.true(mapFsError(errno('ENOENT'), 'p') instanceof DiskNotFoundError);
  t.true(mapFsError(errno('EEXIST'), 'p') instanceof DiskExistsError);
  for (const code of ['EACCES', 'EPERM', 'EROFS']) t.true(mapFsError(errno(code), 'p') instanceof DiskPermissionError, code);
  const other = errno('EMFILE');
  const mapped = mapFsError(other, 'p');
  t.true(mapped instanceof DiskIoError);
  t.is(mapped.cause, other);
});

test('disk: list returns names sorted in code-unit order, directories included', async (t) => {
  const disk = createRealDisk(await scratch(t));
  const names = ['00000000000000000020.log', 'b', 'B', '00000000000000000000.log', 'a.index', 'Z', '_x'];
  for (const name of names) await disk.writeFileAtomic(name, bytes(name));
  await disk.mkdir('dir/nested');
  t.deepEqual(await disk.list('.'), [...names, 'dir'].sort());
  t.deepEqual(await disk.list('dir'), ['nested']);
});

test('disk: writeFileAtomic replaces the whole file and leaves no temporary behind', async (t) => {
  const disk = createRealDisk(await scratch(t));
  await disk.mkdir('meta');
  await disk.writeFileAtomic('meta/quorum-state', bytes('{"epoch":1}'));
  await Promise.all([
    disk.writeFileAtomic('meta/quorum-state', bytes('{"epoch":2}')),
    disk.writeFileAtomic('meta/other', bytes('x')),
  ]);
  t.is(text(await disk.readFile('meta/quorum-state')), '{"epoch":2}');
  t.deepEqual(await disk.list('meta'), ['other', 'quorum-state']);
  await disk.syncDir('meta');
  await disk.rename('meta/other', 'meta/renamed');
  await disk.syncDir('meta');
  t.deepEqual(await disk.list('meta'), ['quorum-state', 'renamed']);
  const stat = await disk.stat('meta');
  t.true(stat.isDirectory);
  await disk.removeDir('meta');
  t.false(await disk.exists('meta'));
});

test('disk: mkdir creates parents and accepts an existing directory', async (t) => {
  const disk = createRealDisk(await scratch(t));
  await disk.mkdir('a/b/c');
  await disk.mkdir('a/b/c');
  t.true((await disk.stat('a/b/c')).isDirectory);
  await t.throwsAsync(disk.removeDir('a/b/c/nothing'), { instanceOf: DiskNotFoundError });
});

test('disk: positions and lengths must be non-negative integers', async (t) => {
  const disk = createRealDisk(await scratch(t));
  const file = await disk.open('p.log', { create: true });
  await t.throwsAsync(file.read(-1, 1), { instanceOf: RangeError });
  await t.throwsAsync(file.write(bytes('a'), 1.5), { instanceOf: RangeError });
  await t.throwsAsync(file.truncate(-3), { instanceOf: RangeError });
  await file.close();
});

test('disk: reserve allocates blocks past the end without changing the size or the bytes; truncate to the size gives them back', async (t) => {
  const root = await scratch(t);
  const disk = createRealDisk(root);
  const file = await disk.open('r.log', { create: true });
  await file.append(bytes('hello'));
  const host = path.join(root, 'r.log');
  const blocks = async (): Promise<number> => (await fs.stat(host)).blocks;
  const small = await blocks();
  const reserveBytes = 4 * 1024 * 1024;
  const started = file.reserve(5, reserveBytes);
  t.is(started, fallocateAvailable, 'a reservation starts exactly where fallocate can be called');
  if (started) {
    // It runs in the background: wait (bounded) for the blocks to show up.
    const deadline = Date.now() + 2_000;
    while ((await blocks()) * 512 < reserveBytes && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    t.true((await blocks()) * 512 >= reserveBytes, `${(await blocks()) * 512} bytes allocated`);
  }
  t.is(file.size(), 5);
  t.is((await fs.stat(host)).size, 5, 'the size on disk is unchanged');
  t.is(text(await file.read(0, 100)), 'hello');
  await file.write(bytes(' world'), 5);
  t.is(text(await fs.readFile(host)), 'hello world', 'a write into the reserved range lands as written');
  await file.truncate(file.size());
  t.true((await blocks()) <= small + 8, `blocks given back: ${await blocks()} against ${small} before`);
  await file.close();
  t.false(file.reserve(0, 4096), 'a closed file reserves nothing');
  t.throws(() => file.reserve(-1, 4096), { instanceOf: RangeError });
});
