// The simulated Disk: in-memory files and directories with the durability contract of src/runtime/disk.ts made
// adversarial. Invariant: after `crash()`, every file holds its last synced bytes plus, for each later write, the
// write kept, lost, torn (a prefix) or corrupted, as drawn from the seeded Random; directory entries not covered by a
// `syncDir` may be undone. Everything is deterministic given the Random, and no real I/O happens.
import type { Random } from '../../src/runtime/random.js';
import type { Disk, DiskFile, FileStat, OpenOptions } from '../../src/runtime/disk.js';
import { dirName } from '../../src/runtime/disk.js';
import {
  DiskExistsError,
  DiskFullError,
  DiskIoError,
  DiskNotFoundError,
  DiskPermissionError,
} from '../../src/runtime/errors.js';

/** Relative weights of what happens to each unsynced write at a crash. */
export interface CrashModel {
  keep: number;
  lose: number;
  tear: number;
  corrupt: number;
}

/** What a crash does to unsynced writes unless told otherwise: each kept, lost or torn with equal odds. */
export const defaultCrashModel: Readonly<CrashModel> = Object.freeze({ keep: 1, lose: 1, tear: 1, corrupt: 0 });

export type DiskFaultOp = 'write' | 'read' | 'sync' | 'any';

export interface DiskFault {
  kind: 'eio' | 'enospc';
  /** Only paths starting with this prefix fail (default: every path). */
  pathPrefix?: string;
  /** Which kind of operation fails (default 'any'). Writes include append, write, truncate and writeFileAtomic. */
  op?: DiskFaultOp;
  /** How many operations fail before the fault clears itself (default 1). */
  count?: number;
}

export interface SimDiskOptions {
  random: Random;
  capacityBytes?: number;
  name?: string;
}

/** What happened at the last crash, for tests and traces. */
export interface CrashReport {
  writesKept: number;
  writesLost: number;
  writesTorn: number;
  writesCorrupted: number;
  entriesUndone: number;
}

type PendingOp = { kind: 'write'; position: number; data: Uint8Array } | { kind: 'truncate'; size: number };

/** A growable byte buffer: the contents of one version of a file. */
class Bytes {
  buf = new Uint8Array(0);
  length = 0;

  static from(other: Bytes): Bytes {
    const b = new Bytes();
    b.buf = other.buf.slice(0, other.length);
    b.length = other.length;
    return b;
  }

  private reserve(n: number): void {
    if (n <= this.buf.length) return;
    const next = new Uint8Array(Math.max(n, this.buf.length * 2, 256));
    next.set(this.buf.subarray(0, this.length));
    this.buf = next;
  }

  write(data: Uint8Array, position: number): void {
    const end = position + data.length;
    this.reserve(end);
    // Bytes between the old end and `position` read as zeros, like a sparse hole.
    if (position > this.length) this.buf.fill(0, this.length, position);
    this.buf.set(data, position);
    if (end > this.length) this.length = end;
  }

  truncate(size: number): void {
    if (size < this.length) {
      this.length = size;
    } else if (size > this.length) {
      this.reserve(size);
      this.buf.fill(0, this.length, size);
      this.length = size;
    }
  }

  read(position: number, length: number): Uint8Array {
    if (position >= this.length) return new Uint8Array(0);
    return this.buf.slice(position, Math.min(this.length, position + length));
  }
}

/** A file's data, independent of the names it is reachable by (renames move names, not inodes). */
class Inode {
  current = new Bytes();
  durable = new Bytes();
  pending: PendingOp[] = [];

  constructor(readonly id: number) {}

  apply(op: PendingOp): void {
    if (op.kind === 'write') this.current.write(op.data, op.position);
    else this.current.truncate(op.size);
    this.pending.push(op);
  }

  sync(): void {
    for (const op of this.pending) {
      if (op.kind === 'write') this.durable.write(op.data, op.position);
      else this.durable.truncate(op.size);
    }
    this.pending = [];
    if (this.durable.length !== this.current.length) throw new Error('SimDisk invariant: synced size differs from current size');
  }
}

type Entry = { kind: 'dir' } | { kind: 'file'; inode: Inode };

function normalize(path: string): string {
  if (path.length === 0) throw new DiskNotFoundError(path);
  const cleaned = path.replace(/\/{2,}/g, '/');
  return cleaned.length > 1 && cleaned.endsWith('/') ? cleaned.slice(0, -1) : cleaned;
}

function isRoot(dir: string): boolean {
  return dir === '.' || dir === '/' || dir === '';
}

function isUnder(path: string, dir: string): boolean {
  return path.startsWith(`${dir}/`);
}

export class SimDisk implements Disk {
  readonly name: string;
  private readonly random: Random;
  private readonly capacityBytes: number;
  /** The names as the running node sees them. */
  private entries = new Map<string, Entry>();
  /** The names as they would be found after a crash (updated by syncDir). */
  private durableEntries = new Map<string, Entry>();
  private crashModel: CrashModel = { ...defaultCrashModel };
  private faults: Array<Required<Omit<DiskFault, 'pathPrefix'>> & { pathPrefix: string }> = [];
  /** Bumped by each crash; handles from an earlier generation are dead. */
  private generation = 0;
  private nextInodeId = 1;
  lastCrash: CrashReport | undefined;

  constructor(options: SimDiskOptions) {
    this.random = options.random;
    this.capacityBytes = options.capacityBytes ?? Number.POSITIVE_INFINITY;
    this.name = options.name ?? 'simdisk';
  }

  // ---- test and simulator controls ----

  setCrashModel(model: CrashModel): void {
    const total = model.keep + model.lose + model.tear + model.corrupt;
    for (const w of [model.keep, model.lose, model.tear, model.corrupt]) {
      if (!(w >= 0) || !Number.isFinite(w)) throw new RangeError(`crash model weights must be finite and >= 0: ${JSON.stringify(model)}`);
    }
    if (total <= 0) throw new RangeError('crash model needs a positive total weight');
    this.crashModel = { ...model };
  }

  injectFault(fault: DiskFault): void {
    const count = fault.count ?? 1;
    if (!Number.isSafeInteger(count) || count <= 0) throw new RangeError(`fault count must be a positive integer, got ${count}`);
    this.faults.push({ kind: fault.kind, pathPrefix: fault.pathPrefix ?? '', op: fault.op ?? 'any', count });
  }

  clearFaults(): void {
    this.faults = [];
  }

  /** Flips one bit of the stored bytes (current and durable): latent corruption that no crash model undoes. */
  flipBit(path: string, byteOffset?: number): void {
    const entry = this.entries.get(normalize(path));
    if (entry?.kind !== 'file') throw new DiskNotFoundError(path);
    const inode = entry.inode;
    if (inode.current.length === 0) throw new RangeError(`cannot flip a bit of empty file ${path}`);
    const offset = byteOffset ?? this.random.int(inode.current.length);
    if (!Number.isSafeInteger(offset) || offset < 0 || offset >= inode.current.length) {
      throw new RangeError(`byte offset ${offset} is outside ${path} (${inode.current.length} bytes)`);
    }
    const mask = 1 << this.random.int(8);
    inode.current.buf[offset]! ^= mask;
    if (offset < inode.durable.length) inode.durable.buf[offset]! ^= mask;
    // Pending writes that cover the byte would overwrite it on replay; corrupt them too so the flip is sticky.
    for (const op of inode.pending) {
      if (op.kind === 'write' && offset >= op.position && offset < op.position + op.data.length) {
        op.data[offset - op.position]! ^= mask;
      }
    }
  }

  /** Bytes held by all files reachable now (what counts against capacity). */
  usedBytes(): number {
    let used = 0;
    const seen = new Set<Inode>();
    for (const e of this.entries.values()) {
      if (e.kind === 'file' && !seen.has(e.inode)) {
        seen.add(e.inode);
        used += e.inode.current.length;
      }
    }
    return used;
  }

  /** Paths of every file and directory, sorted (for tests and traces). */
  paths(): string[] {
    return [...this.entries.keys()].sort();
  }

  /** A file's current bytes without going through a handle (for tests). */
  peek(path: string): Uint8Array {
    const entry = this.entries.get(normalize(path));
    if (entry?.kind !== 'file') throw new DiskNotFoundError(path);
    return entry.inode.current.read(0, entry.inode.current.length);
  }

  /** Bytes written to a file but not yet synced. */
  unsyncedBytes(path: string): number {
    const entry = this.entries.get(normalize(path));
    if (entry?.kind !== 'file') return 0;
    return entry.inode.pending.reduce((n, op) => n + (op.kind === 'write' ? op.data.length : 0), 0);
  }

  /**
   * Power loss. Each unsynced write is independently kept, lost, torn or corrupted (weights of the crash model);
   * each unsynced truncate is kept or lost; each unsynced directory entry change is kept or undone. Open handles die.
   */
  crash(): CrashReport {
    const report: CrashReport = { writesKept: 0, writesLost: 0, writesTorn: 0, writesCorrupted: 0, entriesUndone: 0 };
    this.generation += 1;
    // Names first: which inodes survive under which paths.
    const names = [...new Set([...this.entries.keys(), ...this.durableEntries.keys()])].sort();
    const survived = new Map<string, Entry>();
    for (const path of names) {
      const now = this.entries.get(path);
      const durable = this.durableEntries.get(path);
      const same = now === durable || (now?.kind === 'dir' && durable?.kind === 'dir');
      if (same || this.draw() === 'keep') {
        if (now) survived.set(path, now);
      } else {
        report.entriesUndone += 1;
        if (durable) survived.set(path, durable);
      }
    }
    // A name whose parent directory did not survive cannot be reached.
    for (const path of [...survived.keys()].sort()) {
      const parent = dirName(path);
      if (!isRoot(parent) && survived.get(parent)?.kind !== 'dir') survived.delete(path);
    }
    // Then data: replay each surviving inode's unsynced operations through the crash model.
    const inodes = new Set<Inode>();
    for (const e of survived.values()) if (e.kind === 'file') inodes.add(e.inode);
    for (const inode of [...inodes].sort((a, b) => a.id - b.id)) {
      const result = Bytes.from(inode.durable);
      for (const op of inode.pending) {
        const fate = this.draw();
        if (op.kind === 'truncate') {
          if (fate === 'lose') report.writesLost += 1;
          else {
            result.truncate(op.size);
            report.writesKept += 1;
          }
          continue;
        }
        if (fate === 'keep') {
          result.write(op.data, op.position);
          report.writesKept += 1;
        } else if (fate === 'lose') {
          report.writesLost += 1;
        } else if (fate === 'tear') {
          // A torn write keeps a prefix of any length (the device may cut anywhere, not only at sector boundaries).
          const cut = op.data.length <= 1 ? 0 : this.random.int(op.data.length);
          if (cut > 0) result.write(op.data.subarray(0, cut), op.position);
          report.writesTorn += 1;
        } else {
          const data = op.data.slice();
          if (data.length > 0) {
            const flips = 1 + this.random.int(Math.min(8, data.length));
            for (let i = 0; i < flips; i++) data[this.random.int(data.length)]! ^= 1 << this.random.int(8);
          }
          result.write(data, op.position);
          report.writesCorrupted += 1;
        }
      }
      inode.current = result;
      inode.durable = Bytes.from(result);
      inode.pending = [];
    }
    this.entries = survived;
    this.durableEntries = new Map(survived);
    this.lastCrash = report;
    return report;
  }

  private draw(): 'keep' | 'lose' | 'tear' | 'corrupt' {
    const m = this.crashModel;
    const total = m.keep + m.lose + m.tear + m.corrupt;
    let x = this.random.next() * total;
    if ((x -= m.keep) < 0) return 'keep';
    if ((x -= m.lose) < 0) return 'lose';
    if ((x -= m.tear) < 0) return 'tear';
    return 'corrupt';
  }

  // ---- fault injection ----

  /** Throws the first matching injected fault (and counts it down). */
  private checkFault(path: string, op: Exclude<DiskFaultOp, 'any'>): void {
    const i = this.faults.findIndex((f) => (f.op === 'any' || f.op === op) && path.startsWith(f.pathPrefix));
    if (i < 0) return;
    const fault = this.faults[i]!;
    fault.count -= 1;
    if (fault.count <= 0) this.faults.splice(i, 1);
    if (fault.kind === 'enospc') throw new DiskFullError(path);
    throw new DiskIoError(path, `injected ${op} fault`);
  }

  private checkCapacity(path: string, growthBytes: number): void {
    if (growthBytes > 0 && this.usedBytes() + growthBytes > this.capacityBytes) throw new DiskFullError(path);
  }

  // ---- the Disk port ----

  private requireParent(path: string): void {
    const parent = dirName(path);
    if (!isRoot(parent) && this.entries.get(parent)?.kind !== 'dir') throw new DiskNotFoundError(parent);
  }

  async open(path: string, options: OpenOptions = {}): Promise<DiskFile> {
    const p = normalize(path);
    let entry = this.entries.get(p);
    if (entry?.kind === 'dir') throw new DiskIoError(p, 'is a directory');
    if (entry && options.create && options.exclusive) throw new DiskExistsError(p);
    if (!entry) {
      if (!options.create) throw new DiskNotFoundError(p);
      if (options.readOnly) throw new DiskPermissionError(p);
      this.requireParent(p);
      this.checkFault(p, 'write');
      entry = { kind: 'file', inode: new Inode(this.nextInodeId++) };
      this.entries.set(p, entry);
    }
    return new SimFile(this, p, entry.inode, this.generation, options.readOnly === true);
  }

  async readFile(path: string): Promise<Uint8Array> {
    const p = normalize(path);
    const entry = this.entries.get(p);
    if (!entry) throw new DiskNotFoundError(p);
    if (entry.kind === 'dir') throw new DiskIoError(p, 'is a directory');
    this.checkFault(p, 'read');
    return entry.inode.current.read(0, entry.inode.current.length);
  }

  async writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
    const p = normalize(path);
    this.requireParent(p);
    this.checkFault(p, 'write');
    const existing = this.entries.get(p);
    const freed = existing?.kind === 'file' ? existing.inode.current.length : 0;
    this.checkCapacity(p, data.length - freed);
    // Write a temporary sibling, sync it, rename it over the target and sync the directory: all of it durable.
    const inode = new Inode(this.nextInodeId++);
    inode.apply({ kind: 'write', position: 0, data: data.slice() });
    inode.sync();
    const entry: Entry = { kind: 'file', inode };
    this.entries.set(p, entry);
    this.durableEntries.set(p, entry);
  }

  async rename(from: string, to: string): Promise<void> {
    const f = normalize(from);
    const t = normalize(to);
    const entry = this.entries.get(f);
    if (!entry) throw new DiskNotFoundError(f);
    this.requireParent(t);
    this.checkFault(t, 'write');
    if (entry.kind === 'dir') {
      for (const [path, e] of [...this.entries]) {
        if (isUnder(path, f)) {
          this.entries.delete(path);
          this.entries.set(t + path.slice(f.length), e);
        }
      }
    }
    this.entries.delete(f);
    this.entries.set(t, entry);
  }

  async remove(path: string): Promise<void> {
    const p = normalize(path);
    const entry = this.entries.get(p);
    if (!entry) throw new DiskNotFoundError(p);
    if (entry.kind === 'dir') {
      if ([...this.entries.keys()].some((k) => isUnder(k, p))) throw new DiskIoError(p, 'directory not empty');
    }
    this.checkFault(p, 'write');
    this.entries.delete(p);
  }

  async removeDir(path: string): Promise<void> {
    const p = normalize(path);
    const entry = this.entries.get(p);
    if (!entry) throw new DiskNotFoundError(p);
    if (entry.kind !== 'dir') throw new DiskIoError(p, 'not a directory');
    this.checkFault(p, 'write');
    for (const k of [...this.entries.keys()]) if (k === p || isUnder(k, p)) this.entries.delete(k);
  }

  async mkdir(path: string): Promise<void> {
    const p = normalize(path);
    const existing = this.entries.get(p);
    if (existing?.kind === 'dir') return;
    if (existing) throw new DiskExistsError(p);
    // Like `mkdir -p`: missing parents are created too (each durable only after syncDir of its own parent).
    const parent = dirName(p);
    if (!isRoot(parent)) await this.mkdir(parent);
    this.checkFault(p, 'write');
    this.entries.set(p, { kind: 'dir' });
  }

  async list(dir: string): Promise<string[]> {
    const d = normalize(dir);
    if (!isRoot(d) && this.entries.get(d)?.kind !== 'dir') throw new DiskNotFoundError(d);
    this.checkFault(d, 'read');
    const names: string[] = [];
    for (const path of this.entries.keys()) {
      if (isRoot(d) ? isRoot(dirName(path)) : dirName(path) === d) names.push(path.slice(path.lastIndexOf('/') + 1));
    }
    return names.sort();
  }

  async exists(path: string): Promise<boolean> {
    return this.entries.has(normalize(path));
  }

  async stat(path: string): Promise<FileStat> {
    const entry = this.entries.get(normalize(path));
    if (!entry) throw new DiskNotFoundError(path);
    return entry.kind === 'dir' ? { size: 0, isDirectory: true } : { size: entry.inode.current.length, isDirectory: false };
  }

  async syncDir(dir: string): Promise<void> {
    const d = normalize(dir);
    if (!isRoot(d) && this.entries.get(d)?.kind !== 'dir') throw new DiskNotFoundError(d);
    this.checkFault(d, 'sync');
    const isChild = (path: string): boolean => (isRoot(d) ? isRoot(dirName(path)) : dirName(path) === d);
    for (const path of new Set([...this.entries.keys(), ...this.durableEntries.keys()])) {
      if (!isChild(path)) continue;
      const now = this.entries.get(path);
      if (now) {
        this.durableEntries.set(path, now);
      } else {
        this.durableEntries.delete(path);
        // A removed directory takes its durable subtree with it.
        for (const k of [...this.durableEntries.keys()]) if (isUnder(k, path)) this.durableEntries.delete(k);
      }
    }
  }

  // ---- used by SimFile ----

  /** @internal */ assertLive(path: string, generation: number): void {
    if (generation !== this.generation) throw new DiskIoError(path, 'handle invalidated by a crash');
  }
  /** @internal */ fault(path: string, op: Exclude<DiskFaultOp, 'any'>): void {
    this.checkFault(path, op);
  }
  /** @internal */ capacity(path: string, growthBytes: number): void {
    this.checkCapacity(path, growthBytes);
  }
}

class SimFile implements DiskFile {
  private closed = false;

  constructor(
    private readonly disk: SimDisk,
    readonly path: string,
    private readonly inode: Inode,
    private readonly generation: number,
    private readonly readOnly: boolean,
  ) {}

  private check(op: 'write' | 'read' | 'sync'): void {
    if (this.closed) throw new DiskIoError(this.path, 'file is closed');
    this.disk.assertLive(this.path, this.generation);
    if (op === 'write' && this.readOnly) throw new DiskPermissionError(this.path);
    this.disk.fault(this.path, op);
  }

  size(): number {
    return this.inode.current.length;
  }

  async append(data: Uint8Array): Promise<number> {
    this.check('write');
    const position = this.inode.current.length;
    this.disk.capacity(this.path, data.length);
    this.inode.apply({ kind: 'write', position, data: data.slice() });
    return position;
  }

  async write(data: Uint8Array, position: number): Promise<void> {
    if (!Number.isSafeInteger(position) || position < 0) throw new RangeError(`bad write position ${position}`);
    this.check('write');
    this.disk.capacity(this.path, Math.max(0, position + data.length - this.inode.current.length));
    this.inode.apply({ kind: 'write', position, data: data.slice() });
  }

  async read(position: number, length: number): Promise<Uint8Array> {
    if (!Number.isSafeInteger(position) || position < 0 || !Number.isSafeInteger(length) || length < 0) {
      throw new RangeError(`bad read range ${position}+${length}`);
    }
    this.check('read');
    return this.inode.current.read(position, length);
  }

  async truncate(size: number): Promise<void> {
    if (!Number.isSafeInteger(size) || size < 0) throw new RangeError(`bad truncate size ${size}`);
    this.check('write');
    this.disk.capacity(this.path, Math.max(0, size - this.inode.current.length));
    this.inode.apply({ kind: 'truncate', size });
  }

  async sync(): Promise<void> {
    this.check('sync');
    this.inode.sync();
  }

  async datasync(): Promise<void> {
    this.check('sync');
    this.inode.sync();
  }

  /** The simulator's disk has no blocks to allocate ahead: a reservation is never made, so traces do not change. */
  reserve(): boolean {
    return false;
  }

  async close(): Promise<void> {
    this.closed = true;
  }
}
