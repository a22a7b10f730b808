// A minimal Disk port over node:fs for the storage benchmark only. The real adapter is src/runtime/real/disk.ts
// (another branch); at merge, bench/storage.ts should switch to createRealDisk and this file can go.
import { promises as fs, constants } from 'node:fs';
import type { FileHandle } from 'node:fs/promises';
import type { Disk, DiskFile, FileStat, OpenOptions } from '../src/runtime/disk.js';
import { dirName } from '../src/runtime/disk.js';
import { DiskExistsError, DiskFullError, DiskIoError, DiskNotFoundError, DiskPermissionError } from '../src/runtime/errors.js';

function mapError(path: string, err: unknown): Error {
  const code = (err as NodeJS.ErrnoException | undefined)?.code;
  if (code === 'ENOENT') return new DiskNotFoundError(path, { cause: err });
  if (code === 'EEXIST') return new DiskExistsError(path, { cause: err });
  if (code === 'ENOSPC') return new DiskFullError(path, { cause: err });
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS') return new DiskPermissionError(path, { cause: err });
  return new DiskIoError(path, String(code ?? err), { cause: err });
}

async function wrap<T>(path: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw mapError(path, err);
  }
}

class FsFile implements DiskFile {
  constructor(
    readonly path: string,
    private readonly handle: FileHandle,
    private length: number,
  ) {}
  size(): number {
    return this.length;
  }
  async append(data: Uint8Array): Promise<number> {
    const at = this.length;
    await this.write(data, at);
    return at;
  }
  async write(data: Uint8Array, position: number): Promise<void> {
    await wrap(this.path, async () => {
      let done = 0;
      while (done < data.length) {
        const { bytesWritten } = await this.handle.write(data, done, data.length - done, position + done);
        done += bytesWritten;
      }
    });
    this.length = Math.max(this.length, position + data.length);
  }
  async read(position: number, length: number): Promise<Uint8Array> {
    const want = Math.max(0, Math.min(length, this.length - position));
    const buf = Buffer.allocUnsafe(want);
    let got = 0;
    await wrap(this.path, async () => {
      while (got < want) {
        const { bytesRead } = await this.handle.read(buf, got, want - got, position + got);
        if (bytesRead === 0) break;
        got += bytesRead;
      }
    });
    return got === want ? buf : buf.subarray(0, got);
  }
  async truncate(size: number): Promise<void> {
    await wrap(this.path, () => this.handle.truncate(size));
    this.length = size;
  }
  sync(): Promise<void> {
    return wrap(this.path, () => this.handle.sync());
  }
  datasync(): Promise<void> {
    return wrap(this.path, () => this.handle.datasync());
  }
  close(): Promise<void> {
    return wrap(this.path, () => this.handle.close());
  }
}

export function createBenchFsDisk(): Disk {
  let tmp = 0;
  const disk: Disk = {
    async open(path: string, options: OpenOptions = {}): Promise<DiskFile> {
      let flags = options.readOnly ? constants.O_RDONLY : constants.O_RDWR;
      if (options.create) flags |= constants.O_CREAT;
      if (options.create && options.exclusive) flags |= constants.O_EXCL;
      const handle = await wrap(path, () => fs.open(path, flags, 0o644));
      const { size } = await wrap(path, () => handle.stat());
      return new FsFile(path, handle, size);
    },
    readFile: (path) => wrap(path, () => fs.readFile(path)),
    async writeFileAtomic(path: string, data: Uint8Array): Promise<void> {
      const temp = `${path}.tmp-${process.pid}-${tmp++}`;
      await wrap(path, async () => {
        const h = await fs.open(temp, 'w', 0o644);
        try {
          await h.writeFile(data);
          await h.sync();
        } finally {
          await h.close();
        }
        await fs.rename(temp, path);
      });
      await disk.syncDir(dirName(path));
    },
    rename: (from, to) => wrap(from, () => fs.rename(from, to)),
    remove: (path) => wrap(path, () => fs.unlink(path)),
    removeDir: (path) => wrap(path, () => fs.rm(path, { recursive: true, force: true })),
    mkdir: async (path) => {
      await wrap(path, () => fs.mkdir(path, { recursive: true }));
    },
    list: async (dir) => (await wrap(dir, () => fs.readdir(dir))).sort(),
    exists: async (path) => {
      try {
        await fs.stat(path);
        return true;
      } catch {
        return false;
      }
    },
    async stat(path: string): Promise<FileStat> {
      const s = await wrap(path, () => fs.stat(path));
      return { size: s.size, isDirectory: s.isDirectory() };
    },
    async syncDir(dir: string): Promise<void> {
      await wrap(dir, async () => {
        const h = await fs.open(dir, constants.O_RDONLY);
        try {
          await h.sync();
        } finally {
          await h.close();
        }
      });
    },
  };
  return disk;
}
