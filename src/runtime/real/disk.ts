// The real Disk: node:fs/promises under an optional root directory, keeping the durability contract of
// src/runtime/disk.ts. Invariant: operations on one file take effect in the order they were issued (a sync covers
// every write issued before it), and a file's tracked size always equals its length on disk plus pending appends.
//
// Choices the port leaves open, made here (and expected of every Disk):
// - `mkdir` creates missing parents and succeeds when the directory exists (mkdir -p).
// - `remove` and `removeDir` of a missing path fail with DiskNotFoundError.
// - After a write, append or truncate on a file fails, that handle refuses further mutations (DiskIoError naming
//   the first failure): positions of appends already issued after it can no longer be trusted. Reads still work;
//   reopen the file to recover, as Kafka takes a log directory offline after a storage error.
import * as fs from 'node:fs/promises';
import { constants as fsConstants } from 'node:fs';
import * as nodePath from 'node:path';
import type { Disk, DiskFile, FileStat, OpenOptions } from '../disk.js';
import { startFallocate } from './fallocate.js';
import { dirName } from '../disk.js';
import {
  DiskExistsError,
  DiskFullError,
  DiskIoError,
  DiskNotFoundError,
  DiskPermissionError,
  RuntimeError,
} from '../errors.js';

/** Maps a node:fs failure to the port's typed errors; `path` is the caller's (logical) path. */
export function mapFsError(error: unknown, path: string): RuntimeError {
  if (error instanceof RuntimeError) return error;
  const code = typeof error === 'object' && error !== null && 'code' in error ? (error as { code: unknown }).code : undefined;
  switch (code) {
    case 'ENOSPC':
    case 'EDQUOT':
      return new DiskFullError(path, { cause: error });
    case 'ENOENT':
      return new DiskNotFoundError(path, { cause: error });
    case 'EEXIST':
      return new DiskExistsError(path, { cause: error });
    case 'EACCES':
    case 'EPERM':
    case 'EROFS':
      return new DiskPermissionError(path, { cause: error });
    case 'EIO':
      return new DiskIoError(path, 'device I/O failure', { cause: error });
    default: {
      const detail = error instanceof Error ? error.message : String(error);
      return new DiskIoError(path, detail, { cause: error });
    }
  }
}

function assertPosition(name: string, value: number): void {
  if (!Number.isSafeInteger(value) || value < 0) {
    throw new RangeError(`disk: ${name} must be a non-negative safe integer, got ${value}`);
  }
}

const settled = Promise.resolve();
const ignore = (): void => {};

class RealFile implements DiskFile {
  private sizeBytes: number;
  private closed = false;
  private failure: RuntimeError | undefined;
  /** Settles after the last mutation (append, write, truncate, sync, close) issued so far. */
  private mutationTail: Promise<void> = settled;
  /** Settles after every operation issued so far, reads included. */
  private allTail: Promise<void> = settled;
  private pendingMutations = 0;
  private pendingAll = 0;
  /** Reservations still running on the FFI thread (close waits for them, so the descriptor outlives them). */
  private reserving: Promise<unknown> = settled;
  /** False once the file system refused a reservation: this file makes no more. */
  private reservable = startFallocate !== undefined;

  constructor(
    readonly path: string,
    private readonly handle: fs.FileHandle,
    initialSize: number,
    private readonly readOnly: boolean,
  ) {
    this.sizeBytes = initialSize;
  }

  size(): number {
    return this.sizeBytes;
  }

  /**
   * Runs a mutation after the mutations issued before it and, with `afterReads`, after the reads too (a positional
   * write or truncate must not change bytes an earlier read is still reading). Appends and syncs need not wait for
   * reads: a read is clamped to the size at its issue, so it never sees bytes appended later. When nothing it must
   * wait for is pending it starts at once: the append hot path costs no extra await.
   */
  private mutate<T>(run: () => Promise<T>, afterReads: boolean): Promise<T> {
    const idle = afterReads ? this.pendingAll === 0 : this.pendingMutations === 0;
    const result = idle ? run() : (afterReads ? this.allTail : this.mutationTail).then(run);
    this.pendingMutations++;
    this.pendingAll++;
    // One reaction for both outcomes: the bookkeeping costs a single promise per operation on the append hot path.
    const settle = (): void => {
      this.pendingMutations--;
      this.pendingAll--;
    };
    const done = result.then(settle, settle);
    this.mutationTail = done;
    this.allTail = afterReads || this.pendingAll === 1 ? done : Promise.all([this.allTail, done]).then(ignore);
    return result;
  }

  /** Runs a read after the mutations issued before it; reads run concurrently with each other. */
  private readAfterWrites<T>(run: () => Promise<T>): Promise<T> {
    const result = this.pendingMutations === 0 ? run() : this.mutationTail.then(run);
    this.pendingAll++;
    const settle = (): void => {
      this.pendingAll--;
    };
    const done = result.then(settle, settle);
    this.allTail = this.pendingAll === 1 ? done : Promise.all([this.allTail, done]).then(ignore);
    return result;
  }

  private checkWritable(op: string): void {
    if (this.closed) throw new DiskIoError(this.path, `${op} on a closed file`);
    if (this.readOnly) throw new DiskPermissionError(this.path);
    if (this.failure !== undefined) {
      throw new DiskIoError(this.path, `${op} refused: an earlier write failed (${this.failure.message}); reopen the file`, {
        cause: this.failure,
      });
    }
  }

  private poison(error: unknown): RuntimeError {
    const mapped = mapFsError(error, this.path);
    this.failure ??= mapped;
    return mapped;
  }

  private async writeFully(data: Uint8Array, position: number): Promise<void> {
    let done = 0;
    while (done < data.byteLength) {
      const { bytesWritten } = await this.handle.write(data, done, data.byteLength - done, position + done);
      if (bytesWritten <= 0) throw new DiskIoError(this.path, `write made no progress at ${position + done}`);
      done += bytesWritten;
    }
  }

  append(data: Uint8Array): Promise<number> {
    try {
      this.checkWritable('append');
    } catch (error) {
      return Promise.reject(error);
    }
    // The position is reserved now, so size() includes the append at once and concurrent appends never overlap.
    const position = this.sizeBytes;
    this.sizeBytes += data.byteLength;
    return this.mutate(async () => {
      try {
        await this.writeFully(data, position);
        return position;
      } catch (error) {
        throw this.poison(error);
      }
    }, false);
  }

  write(data: Uint8Array, position: number): Promise<void> {
    try {
      assertPosition('position', position);
      this.checkWritable('write');
    } catch (error) {
      return Promise.reject(error);
    }
    this.sizeBytes = Math.max(this.sizeBytes, position + data.byteLength);
    // Not async functions: the segment append's write is on the hot path, and each async frame between it and the
    // file handle costs promise hops when it resolves. A short write (rare) continues in writeFully.
    return this.mutate(
      () =>
        this.handle.write(data, 0, data.byteLength, position).then(
          ({ bytesWritten }) => {
            if (bytesWritten === data.byteLength) return undefined;
            if (bytesWritten <= 0) throw this.poison(new DiskIoError(this.path, `write made no progress at ${position}`));
            return this.writeFully(data.subarray(bytesWritten), position + bytesWritten).catch((error: unknown) => {
              throw this.poison(error);
            });
          },
          (error: unknown) => {
            throw this.poison(error);
          },
        ),
      true,
    );
  }

  read(position: number, length: number): Promise<Uint8Array> {
    try {
      assertPosition('position', position);
      assertPosition('length', length);
      if (this.closed) throw new DiskIoError(this.path, 'read on a closed file');
    } catch (error) {
      return Promise.reject(error);
    }
    // Clamp to the tracked size (this handle is the only writer), so a generous length allocates no more than
    // the bytes that exist.
    const want = Math.max(0, Math.min(length, this.sizeBytes - position));
    if (want === 0) return Promise.resolve(new Uint8Array(0));
    return this.readAfterWrites(async () => {
      const buffer = Buffer.allocUnsafe(want);
      let got = 0;
      try {
        while (got < want) {
          const { bytesRead } = await this.handle.read(buffer, got, want - got, position + got);
          if (bytesRead === 0) break;
          got += bytesRead;
        }
      } catch (error) {
        throw mapFsError(error, this.path);
      }
      return got === want ? buffer : buffer.subarray(0, got);
    });
  }

  truncate(size: number): Promise<void> {
    try {
      assertPosition('size', size);
      this.checkWritable('truncate');
    } catch (error) {
      return Promise.reject(error);
    }
    this.sizeBytes = size;
    return this.mutate(async () => {
      try {
        await this.handle.truncate(size);
      } catch (error) {
        throw this.poison(error);
      }
    }, true);
  }

  reserve(position: number, length: number): boolean {
    assertPosition('position', position);
    assertPosition('length', length);
    if (!this.reservable || startFallocate === undefined || this.closed || this.readOnly || this.failure !== undefined || length === 0) return false;
    const started = startFallocate(this.handle.fd, position, length).then((ok) => {
      if (!ok) this.reservable = false;
    });
    this.reserving = Promise.all([this.reserving, started]);
    return true;
  }

  sync(): Promise<void> {
    if (this.closed) return Promise.reject(new DiskIoError(this.path, 'sync on a closed file'));
    return this.mutate(async () => {
      try {
        await this.handle.sync();
      } catch (error) {
        throw mapFsError(error, this.path);
      }
    }, false);
  }

  datasync(): Promise<void> {
    if (this.closed) return Promise.reject(new DiskIoError(this.path, 'datasync on a closed file'));
    return this.mutate(async () => {
      try {
        await this.handle.datasync();
      } catch (error) {
        throw mapFsError(error, this.path);
      }
    }, false);
  }

  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    return this.mutate(async () => {
      try {
        await this.reserving;
        await this.handle.close();
      } catch (error) {
        throw mapFsError(error, this.path);
      }
    }, true);
  }
}

class RealDisk implements Disk {
  private tmpCounter = 0;

  constructor(private readonly root: string | undefined) {}

  /** The host path of a logical '/'-separated path: under the root when one is set. */
  private host(path: string): string {
    if (path.length === 0) throw new TypeError('disk: empty path');
    return this.root === undefined ? path : nodePath.join(this.root, path);
  }

  async open(path: string, options: OpenOptions = {}): Promise<DiskFile> {
    let flags: number;
    if (options.readOnly === true) {
      flags = fsConstants.O_RDONLY;
    } else {
      flags = fsConstants.O_RDWR;
      if (options.create === true) flags |= fsConstants.O_CREAT;
      if (options.create === true && options.exclusive === true) flags |= fsConstants.O_EXCL;
    }
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(this.host(path), flags, 0o644);
      const stat = await handle.stat();
      if (stat.isDirectory()) throw new DiskIoError(path, 'is a directory');
      return new RealFile(path, handle, stat.size, options.readOnly === true);
    } catch (error) {
      if (handle !== undefined) await handle.close().catch(ignore);
      throw mapFsError(error, path);
    }
  }

  async readFile(path: string): Promise<Uint8Array> {
    try {
      return await fs.readFile(this.host(path));
    } catch (error) {
      throw mapFsError(error, path);
    }
  }

  async writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
    // A unique sibling name, so two concurrent writers of one path never share a temporary file.
    const tmp = `${path}.${process.pid}.${++this.tmpCounter}.tmp`;
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(this.host(tmp), 'wx', 0o644);
      let done = 0;
      while (done < data.byteLength) {
        const { bytesWritten } = await handle.write(data, done, data.byteLength - done, done);
        if (bytesWritten <= 0) throw new DiskIoError(tmp, `write made no progress at ${done}`);
        done += bytesWritten;
      }
      await handle.sync();
      await handle.close();
      handle = undefined;
      await fs.rename(this.host(tmp), this.host(path));
    } catch (error) {
      if (handle !== undefined) await handle.close().catch(ignore);
      await fs.unlink(this.host(tmp)).catch(ignore);
      throw mapFsError(error, path);
    }
    await this.syncDir(dirName(path));
  }

  async rename(from: string, to: string): Promise<void> {
    try {
      await fs.rename(this.host(from), this.host(to));
    } catch (error) {
      throw mapFsError(error, from);
    }
  }

  async remove(path: string): Promise<void> {
    try {
      await fs.unlink(this.host(path));
    } catch (error) {
      throw mapFsError(error, path);
    }
  }

  async removeDir(path: string): Promise<void> {
    try {
      const stat = await fs.stat(this.host(path));
      if (!stat.isDirectory()) throw new DiskIoError(path, 'not a directory');
      await fs.rm(this.host(path), { recursive: true });
    } catch (error) {
      throw mapFsError(error, path);
    }
  }

  async mkdir(path: string): Promise<void> {
    try {
      await fs.mkdir(this.host(path), { recursive: true });
    } catch (error) {
      throw mapFsError(error, path);
    }
  }

  async list(dir: string): Promise<string[]> {
    try {
      const names = await fs.readdir(this.host(dir));
      // Code-unit order, the same in every implementation (not locale order).
      return names.sort();
    } catch (error) {
      throw mapFsError(error, dir);
    }
  }

  async exists(path: string): Promise<boolean> {
    try {
      await fs.stat(this.host(path));
      return true;
    } catch (error) {
      const mapped = mapFsError(error, path);
      if (mapped instanceof DiskNotFoundError) return false;
      throw mapped;
    }
  }

  async stat(path: string): Promise<FileStat> {
    try {
      const stat = await fs.stat(this.host(path));
      return { size: stat.size, isDirectory: stat.isDirectory() };
    } catch (error) {
      throw mapFsError(error, path);
    }
  }

  async syncDir(dir: string): Promise<void> {
    let handle: fs.FileHandle | undefined;
    try {
      handle = await fs.open(this.host(dir), fsConstants.O_RDONLY | fsConstants.O_DIRECTORY);
      await handle.sync();
    } catch (error) {
      throw mapFsError(error, dir);
    } finally {
      if (handle !== undefined) await handle.close().catch(ignore);
    }
  }
}

/**
 * A Disk over the host file system. With `root`, every path is taken relative to it (the broker passes its
 * log.dirs entry; specs pass a temporary directory); without, paths are used as given.
 */
export function createRealDisk(root?: string): Disk {
  return new RealDisk(root);
}
