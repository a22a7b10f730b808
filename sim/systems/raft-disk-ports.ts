// Durable Raft ports over the Disk port, for the simulator until src/raft/storage-log.ts and disk-quorum-store.ts
// land: a RaftLog kept as an append-only file of checksummed frames (mirrored in memory for the synchronous reads)
// and a QuorumStateStore kept as one atomically replaced file. Invariant: a promise resolves only after the sync that
// makes its change durable, so a crash (which loses or tears unsynced bytes) never loses what Raft was told is kept.
// `bug` plants a deliberate durability bug so specs can show that the quorum checkers catch it.
import { invariant } from '../../src/raft/quorum.js';
import { initialQuorumState, assertQuorumTransition } from '../../src/raft/memory-quorum-store.js';
import type { QuorumState, QuorumStateStore, RaftLog } from '../../src/raft/ports.js';
import type { Disk, DiskFile } from '../../src/runtime/disk.js';
import { crc32c } from '../../src/storage/crc32c.js';
import { decodeFrame, encodeFrame } from '../../src/wire/codec.js';
import { RaftEntry, SnapshotId, type EpochEndOffset } from '../../src/wire/raft.js';
import { z } from 'zod';

/** Planted durability bugs: `no-fsync` acknowledges log appends before they are synced; `volatile-vote` does the
 * same for quorum-state writes (a store that forgets votes at a crash). */
export type RaftDiskBug = 'none' | 'no-fsync' | 'volatile-vote';

const dir = 'raft';
const logPath = `${dir}/log`;
const snapshotPath = `${dir}/snapshot`;
const quorumPath = `${dir}/quorum-state`;
const frameHeaderBytes = 8;

/** Frame: u32 payload length, u32 CRC32C of the payload, CBOR payload. */
function frame(entry: RaftEntry): Uint8Array {
  const payload = encodeFrame(entry);
  const out = new Uint8Array(frameHeaderBytes + payload.byteLength);
  const view = new DataView(out.buffer);
  view.setUint32(0, payload.byteLength);
  view.setUint32(4, crc32c(payload));
  out.set(payload, frameHeaderBytes);
  return out;
}

/** Parses frames from the start of `bytes`; stops at the first torn or corrupt one (a crash's leftovers). */
function parseFrames(bytes: Uint8Array): { entries: RaftEntry[]; positions: number[]; validEnd: number } {
  const entries: RaftEntry[] = [];
  const positions: number[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  while (pos + frameHeaderBytes <= bytes.byteLength) {
    const length = view.getUint32(pos);
    const end = pos + frameHeaderBytes + length;
    if (end > bytes.byteLength) break;
    const payload = bytes.subarray(pos + frameHeaderBytes, end);
    if (crc32c(payload) !== view.getUint32(pos + 4)) break;
    const decoded = decodeFrame(payload);
    if (!decoded.ok) break;
    const entry = RaftEntry.safeParse(decoded.value);
    if (!entry.success) break;
    const prev = entries.at(-1);
    if (prev !== undefined && (entry.data.offset !== prev.offset + 1 || entry.data.epoch < prev.epoch)) break;
    entries.push(entry.data);
    positions.push(pos);
    pos = end;
  }
  return { entries, positions, validEnd: pos };
}

const SnapshotFile = z.object({ id: SnapshotId, bytes: z.custom<Uint8Array>((v) => v instanceof Uint8Array) });

async function ensureDir(disk: Disk): Promise<void> {
  if (!(await disk.exists(dir))) {
    await disk.mkdir(dir);
    await disk.syncDir('.');
  }
}

export class SimDiskRaftLog implements RaftLog {
  private entries: RaftEntry[] = [];
  /** Byte position of each entry's frame in the log file. */
  private positions: number[] = [];
  private fileEnd = 0;
  private snapshot: SnapshotId | null = null;
  private snapshotBytes = new Uint8Array(0);
  /** Every disk mutation runs in issue order on this chain; the mirror above changes at once. */
  private tail: Promise<void> = Promise.resolve();

  private constructor(
    private readonly disk: Disk,
    private file: DiskFile,
    private readonly bug: RaftDiskBug,
  ) {}

  /** Recovers the log: the snapshot (if any), then every whole frame that continues it; a torn tail is cut off. */
  static async open(disk: Disk, bug: RaftDiskBug = 'none'): Promise<SimDiskRaftLog> {
    await ensureDir(disk);
    const created = !(await disk.exists(logPath));
    const file = await disk.open(logPath, { create: true });
    if (created) await disk.syncDir(dir);
    const log = new SimDiskRaftLog(disk, file, bug);
    if (await disk.exists(snapshotPath)) {
      const decoded = decodeFrame(await disk.readFile(snapshotPath));
      const parsed = decoded.ok ? SnapshotFile.safeParse(decoded.value) : null;
      invariant(parsed?.success === true, 'raft snapshot file is unreadable (it is written atomically, so this is corruption)');
      log.snapshot = parsed.data.id;
      log.snapshotBytes = parsed.data.bytes.slice();
    }
    const bytes = await file.read(0, file.size());
    const { entries, positions, validEnd } = parseFrames(bytes);
    const start = log.startOffset();
    // A crash between writing a snapshot and rewriting the log leaves the old log behind it: keep what follows the
    // snapshot only when the entry just before it matches the snapshot (Raft §7), else drop every entry.
    let keepFrom = entries.length;
    if (entries[0]?.offset === start) keepFrom = 0;
    else if (log.snapshot !== null) {
      const at = entries.findIndex((e) => e.offset === start);
      if (at > 0 && entries[at - 1]!.epoch === log.snapshot.epoch) keepFrom = at;
    }
    invariant(start > 0 || entries.length === 0 || keepFrom === 0, 'raft log file does not start at offset 0');
    log.entries = entries.slice(keepFrom);
    log.positions = positions.slice(keepFrom);
    log.fileEnd = log.entries.length === 0 ? 0 : validEnd;
    if (file.size() !== log.fileEnd) {
      await file.truncate(log.fileEnd);
      await file.datasync();
    }
    return log;
  }

  startOffset(): number {
    return this.snapshot?.endOffset ?? 0;
  }

  endOffset(): number {
    return this.startOffset() + this.entries.length;
  }

  lastEpoch(): number {
    return this.entries.at(-1)?.epoch ?? this.snapshot?.epoch ?? 0;
  }

  entryAt(offset: number): RaftEntry | undefined {
    return this.entries[offset - this.startOffset()];
  }

  read(fromOffset: number, maxEntries: number): RaftEntry[] {
    invariant(fromOffset >= this.startOffset() && fromOffset <= this.endOffset(), () => `read at ${fromOffset} outside [${this.startOffset()}, ${this.endOffset()}]`);
    const from = fromOffset - this.startOffset();
    return this.entries.slice(from, from + maxEntries);
  }

  endOffsetForEpoch(epoch: number): EpochEndOffset {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      const entry = this.entries[i]!;
      if (entry.epoch <= epoch) return { epoch: entry.epoch, endOffset: entry.offset + 1 };
    }
    return { epoch: Math.min(this.snapshot?.epoch ?? 0, epoch), endOffset: this.startOffset() };
  }

  append(entries: readonly RaftEntry[]): Promise<void> {
    const frames: Uint8Array[] = [];
    let bytes = 0;
    for (const entry of entries) {
      invariant(entry.offset === this.endOffset(), () => `append at ${entry.offset} but the log ends at ${this.endOffset()}`);
      invariant(entry.epoch >= this.lastEpoch(), () => `append of epoch ${entry.epoch} after epoch ${this.lastEpoch()}`);
      const f = frame(entry);
      this.entries.push(entry);
      this.positions.push(this.fileEnd + bytes);
      frames.push(f);
      bytes += f.byteLength;
    }
    const data = new Uint8Array(bytes);
    let at = 0;
    for (const f of frames) {
      data.set(f, at);
      at += f.byteLength;
    }
    const position = this.fileEnd;
    this.fileEnd += bytes;
    return this.enqueue(async () => {
      await this.file.write(data, position);
      if (this.bug !== 'no-fsync') await this.file.datasync();
    });
  }

  truncateTo(offset: number): Promise<void> {
    invariant(offset >= this.startOffset(), () => `truncate to ${offset} below the log start ${this.startOffset()}`);
    if (offset >= this.endOffset()) return this.enqueue(() => Promise.resolve());
    const index = offset - this.startOffset();
    const position = this.positions[index]!;
    this.entries.length = index;
    this.positions.length = index;
    this.fileEnd = position;
    return this.enqueue(async () => {
      await this.file.truncate(position);
      await this.file.datasync();
    });
  }

  latestSnapshot(): SnapshotId | null {
    return this.snapshot;
  }

  readSnapshot(id: SnapshotId, position: number, maxBytes: number): Promise<{ size: number; bytes: Uint8Array }> {
    if (this.snapshot === null || this.snapshot.endOffset !== id.endOffset || this.snapshot.epoch !== id.epoch) {
      return Promise.reject(new Error(`no snapshot ${id.endOffset}@${id.epoch}`));
    }
    const size = this.snapshotBytes.byteLength;
    return Promise.resolve({ size, bytes: this.snapshotBytes.slice(Math.min(position, size), Math.min(position + maxBytes, size)) });
  }

  createSnapshot(id: SnapshotId, bytes: Uint8Array): Promise<void> {
    invariant(id.endOffset > this.startOffset() && id.endOffset <= this.endOffset(), () => `snapshot end ${id.endOffset} outside the log`);
    invariant(this.entryAt(id.endOffset - 1)?.epoch === id.epoch, () => `snapshot epoch ${id.epoch} does not match the entry before ${id.endOffset}`);
    const drop = id.endOffset - this.startOffset();
    this.entries = this.entries.slice(drop);
    this.snapshot = { ...id };
    this.snapshotBytes = bytes.slice();
    return this.rewrite();
  }

  installSnapshot(id: SnapshotId, bytes: Uint8Array): Promise<void> {
    invariant(id.endOffset >= this.startOffset(), 'installing a snapshot older than the log start');
    this.entries = [];
    this.snapshot = { ...id };
    this.snapshotBytes = bytes.slice();
    return this.rewrite();
  }

  /** Every entry held (checkers read whole logs). */
  all(): readonly RaftEntry[] {
    return this.entries;
  }

  /** Snapshot first (atomically), then the log rewritten to hold only what follows it (atomically). */
  private rewrite(): Promise<void> {
    const snapshot = encodeFrame({ id: this.snapshot, bytes: this.snapshotBytes });
    const frames = this.entries.map(frame);
    this.positions = [];
    let bytes = 0;
    for (const f of frames) {
      this.positions.push(bytes);
      bytes += f.byteLength;
    }
    const data = new Uint8Array(bytes);
    frames.forEach((f, i) => data.set(f, this.positions[i]!));
    this.fileEnd = bytes;
    return this.enqueue(async () => {
      await this.disk.writeFileAtomic(snapshotPath, snapshot);
      await this.file.close();
      await this.disk.writeFileAtomic(logPath, data);
      this.file = await this.disk.open(logPath);
    });
  }

  private enqueue(op: () => Promise<void>): Promise<void> {
    const next = this.tail.then(op);
    // A failed disk operation fails this call (Raft stops the node); later calls must not run past it.
    this.tail = next;
    return next;
  }
}

const QuorumStateSchema = z.object({ epoch: z.number().int().nonnegative(), votedFor: z.number().int().nonnegative().nullable(), leaderId: z.number().int().nonnegative().nullable() });

/** Kafka's quorum-state file: replaced atomically on every write. */
export class SimDiskQuorumStore implements QuorumStateStore {
  private tail: Promise<void> = Promise.resolve();
  private last: QuorumState = { ...initialQuorumState };

  constructor(
    private readonly disk: Disk,
    private readonly bug: RaftDiskBug = 'none',
  ) {}

  async read(): Promise<QuorumState> {
    await ensureDir(this.disk);
    if (!(await this.disk.exists(quorumPath))) return { ...initialQuorumState };
    const bytes = await this.disk.readFile(quorumPath);
    const decoded = decodeFrame(bytes);
    const parsed = decoded.ok ? QuorumStateSchema.safeParse(decoded.value) : null;
    // A volatile write may leave a torn file; only the planted bug can produce one, and then it reads as "no state".
    if (parsed?.success !== true) {
      invariant(this.bug !== 'none', 'quorum-state file is unreadable although it is written atomically');
      return { ...initialQuorumState };
    }
    this.last = parsed.data;
    return { ...parsed.data };
  }

  write(state: QuorumState): Promise<void> {
    assertQuorumTransition(this.last, state);
    this.last = { ...state };
    const bytes = encodeFrame(state);
    const next = this.tail.then(async () => {
      if (this.bug !== 'volatile-vote') {
        await this.disk.writeFileAtomic(quorumPath, bytes);
        return;
      }
      const file = await this.disk.open(quorumPath, { create: true });
      await file.truncate(0);
      await file.write(bytes, 0);
      await file.close();
    });
    this.tail = next;
    return next;
  }
}
