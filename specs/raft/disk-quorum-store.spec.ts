// The durable quorum state: a vote or epoch is on disk when `write` resolves, survives power loss, is never silently
// forgotten (a damaged file stops the node), and keeps the invariants of the memory store.
import test from 'ava';
import { DiskQuorumStateStore, QuorumStateCorruptError, decodeQuorumState, encodeQuorumState, quorumStateFileName } from '../../src/raft/disk-quorum-store.js';
import { RaftInvariantError } from '../../src/raft/quorum.js';
import { metadataLogDir } from '../../src/raft/storage-log.js';
import { createSeededRandom } from '../../src/runtime/seeded-random.js';
import { SimDisk } from '../../sim/runtime/disk.js';

const dir = metadataLogDir('data/node-2');
const path = `${dir}/${quorumStateFileName}`;

test('quorum store: a missing file is a fresh node (epoch 0, no vote), and nothing is written by reading', async (t) => {
  const disk = new SimDisk({ random: createSeededRandom(1) });
  const store = new DiskQuorumStateStore({ disk, dir });
  t.deepEqual(await store.read(), { epoch: 0, votedFor: null, leaderId: null });
  t.false(await disk.exists(path));
});

test('quorum store: every resolved write survives a crash, whatever the crash does to unsynced bytes', async (t) => {
  for (let seed = 1; seed <= 20; seed++) {
    const disk = new SimDisk({ random: createSeededRandom(seed) });
    disk.setCrashModel({ keep: 1, lose: 1, tear: 1, corrupt: 1 });
    const store = new DiskQuorumStateStore({ disk, dir });
    await store.write({ epoch: 1, votedFor: 3, leaderId: null });
    await store.write({ epoch: 1, votedFor: 3, leaderId: 3 });
    await store.write({ epoch: seed + 1, votedFor: 2, leaderId: null });
    // A write still in flight at the crash may land or not, but the file is never torn between the two.
    const inFlight = store.write({ epoch: seed + 2, votedFor: null, leaderId: null });
    disk.crash();
    await inFlight.catch(() => undefined);
    const state = await new DiskQuorumStateStore({ disk, dir }).read();
    t.true(
      (state.epoch === seed + 1 && state.votedFor === 2) || (state.epoch === seed + 2 && state.votedFor === null),
      `seed ${seed}: recovered ${JSON.stringify(state)}`,
    );
  }
});

test('quorum store: the epoch never goes back and a vote, once cast in an epoch, never changes', async (t) => {
  const disk = new SimDisk({ random: createSeededRandom(3) });
  const store = new DiskQuorumStateStore({ disk, dir });
  await store.write({ epoch: 4, votedFor: 1, leaderId: null });
  await t.throwsAsync(store.write({ epoch: 4, votedFor: 2, leaderId: null }), { instanceOf: RaftInvariantError });
  await t.throwsAsync(store.write({ epoch: 3, votedFor: null, leaderId: null }), { instanceOf: RaftInvariantError });
  // A store opened later checks against what is on disk, not against nothing.
  const reopened = new DiskQuorumStateStore({ disk, dir });
  await t.throwsAsync(reopened.write({ epoch: 4, votedFor: 2, leaderId: null }), { instanceOf: RaftInvariantError });
  t.deepEqual(await reopened.read(), { epoch: 4, votedFor: 1, leaderId: null });
  t.is(store.writes, 1);
});

test('quorum store: a damaged file is an error that stops the node, never a fresh start', async (t) => {
  const good = encodeQuorumState({ epoch: 7, votedFor: 2, leaderId: 2 });
  t.deepEqual(decodeQuorumState(path, good), { epoch: 7, votedFor: 2, leaderId: 2 });
  const text = new TextDecoder().decode(good);
  const damaged: Array<[string, string]> = [
    ['a changed vote', text.replace('"votedFor":2', '"votedFor":3')],
    ['a changed epoch', text.replace('"epoch":7', '"epoch":8')],
    ['a truncated file', text.slice(0, 20)],
    ['an empty file', ''],
    ['an unknown version', text.replace('"version":1', '"version":2')],
  ];
  for (const [what, content] of damaged) {
    const disk = new SimDisk({ random: createSeededRandom(4) });
    await disk.mkdir(dir);
    await disk.writeFileAtomic(path, new TextEncoder().encode(content));
    await t.throwsAsync(new DiskQuorumStateStore({ disk, dir }).read(), { instanceOf: QuorumStateCorruptError }, what);
  }
});
