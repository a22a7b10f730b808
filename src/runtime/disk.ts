// The Disk port: every byte Raftline keeps goes through here, on the real file system or the simulator's.
//
// Durability contract (what survives a crash or power loss), the same for every implementation:
// - A write (append/write/truncate) is visible to reads on the same node at once, but is *volatile*: after a crash
//   it may be kept, lost, torn (only a prefix kept) or, under fault injection, corrupted — until `sync()` or
//   `datasync()` on that file has resolved. After that, the file's contents up to that moment are durable.
// - Creating, renaming or removing a directory entry is durable only after `syncDir(parent)` has resolved.
//   `writeFileAtomic` does write, sync, rename and syncDir, so the file is either wholly old or wholly new.
// - Operations on one file complete in the order they were issued.
// Failures are the typed errors of src/runtime/errors.ts (DiskFullError, DiskIoError, DiskNotFoundError, ...).

export interface DiskFile {
  readonly path: string;
  /** Current logical size in bytes, including writes not yet synced. */
  size(): number;
  /** Appends at the end; resolves with the position the data starts at. */
  append(data: Uint8Array): Promise<number>;
  /** Writes at `position` (may extend the file). */
  write(data: Uint8Array, position: number): Promise<void>;
  /** Reads up to `length` bytes at `position`; the result is shorter only at end of file. */
  read(position: number, length: number): Promise<Uint8Array>;
  /** Cuts the file to `size` bytes (and frees blocks reserved past it). */
  truncate(size: number): Promise<void>;
  /**
   * Starts reserving disk blocks for `[position, position + length)` without changing the file's size or contents
   * (fallocate with KEEP_SIZE), in the background: later writes there skip the file system's block allocation. A hint
   * with no effect on what reads return or what survives a crash. Returns false when this disk cannot do it (the
   * simulator's, a platform without fallocate, a file system that refused an earlier reservation). `truncate` to
   * the current size gives the reserved blocks back.
   */
  reserve(position: number, length: number): boolean;
  /** fsync: data and metadata durable. */
  sync(): Promise<void>;
  /** fdatasync: data durable (and the size, when it changed). */
  datasync(): Promise<void>;
  close(): Promise<void>;
}

export interface OpenOptions {
  /** Create the file when it is missing (default false: a missing file is DiskNotFoundError). */
  create?: boolean;
  /** Fail with DiskExistsError when the file exists (only with create). */
  exclusive?: boolean;
  /** Open for reading only. */
  readOnly?: boolean;
}

export interface FileStat {
  size: number;
  isDirectory: boolean;
}

export interface Disk {
  open(path: string, options?: OpenOptions): Promise<DiskFile>;
  /** Reads a whole file. */
  readFile(path: string): Promise<Uint8Array>;
  /** Writes `data` to a temporary sibling, syncs it, renames it over `path` and syncs the directory. */
  writeFileAtomic(path: string, data: Uint8Array): Promise<void>;
  rename(from: string, to: string): Promise<void>;
  remove(path: string): Promise<void>;
  /** Removes a directory and everything in it (durable after syncDir of its parent). */
  removeDir(path: string): Promise<void>;
  mkdir(path: string): Promise<void>;
  /** Names (not paths) of the entries of a directory, sorted. */
  list(dir: string): Promise<string[]>;
  exists(path: string): Promise<boolean>;
  stat(path: string): Promise<FileStat>;
  /** Makes the directory's entries (creates, renames, removes) durable. */
  syncDir(dir: string): Promise<void>;
}

/** Joins path segments with '/', the separator every Disk implementation uses. */
export function joinPath(...parts: string[]): string {
  return parts
    .filter((p) => p.length > 0)
    .join('/')
    .replace(/\/{2,}/g, '/');
}

/** The parent directory of a '/'-separated path ('.' for a bare name). */
export function dirName(path: string): string {
  const i = path.lastIndexOf('/');
  if (i < 0) return '.';
  if (i === 0) return '/';
  return path.slice(0, i);
}
