// The durable Raft log on the real disk: what an fsynced append costs (one entry, and 100 entries per call) and how
// long a reopen takes to rebuild the in-memory view. Run: node --import tsx bench/raft-log.ts (not part of make test).
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { openRaftStorageLog } from '../src/raft/storage-log.js';
import { createRealDisk, realClock } from '../src/runtime/real/index.js';
const root = await mkdtemp(join(tmpdir(), 'raft-log-bench-'));
const disk = createRealDisk(root);
const log = await openRaftStorageLog({ disk, dir: 'm', clock: realClock });
const data = new Uint8Array(200);
let t0 = performance.now();
for (let i = 0; i < 500; i++) await log.append([{ offset: i, epoch: 1, record: { type: 'data', data } }]);
const single = (performance.now() - t0) / 500;
t0 = performance.now();
for (let i = 0; i < 100; i++) await log.append(Array.from({ length: 100 }, (_, k) => ({ offset: 500 + i * 100 + k, epoch: 1, record: { type: 'data' as const, data } })));
const batched = (performance.now() - t0) / 100;
await log.close();
t0 = performance.now();
const again = await openRaftStorageLog({ disk, dir: 'm', clock: realClock });
const reopen = performance.now() - t0;
console.log(JSON.stringify({ appendOneEntryMs: single.toFixed(3), append100EntriesMs: batched.toFixed(3), reopen10500EntriesMs: reopen.toFixed(1), entries: again.endOffset() }));
await again.close();
await rm(root, { recursive: true, force: true });
