// The disk the runner gives each node until the storage branch's SimDisk is merged: a detached device on which
// every operation fails with DiskIoError, and whose fault hooks have nothing to act on. Systems that keep no state
// (ping-pong) run unaffected; anything that touches the disk fails loudly rather than silently "working".
// After the merge this file becomes `export const defaultDiskFactory: DiskFactory = (o) => new SimDisk(o);`.
import { DiskIoError } from '../../src/runtime/errors.js';
import type { DiskFactory, SimDiskLike } from './disk-port.js';

const detached = (path: string): Promise<never> => Promise.reject(new DiskIoError(path, 'no simulated disk attached (SimDisk not merged yet)'));

export const defaultDiskFactory: DiskFactory = (): SimDiskLike => ({
  open: (path) => detached(path),
  readFile: (path) => detached(path),
  writeFileAtomic: (path) => detached(path),
  rename: (from) => detached(from),
  remove: (path) => detached(path),
  removeDir: (path) => detached(path),
  mkdir: (path) => detached(path),
  list: (dir) => detached(dir),
  exists: (path) => detached(path),
  stat: (path) => detached(path),
  syncDir: (dir) => detached(dir),
  // Nothing is ever written, so a crash has nothing to lose and there is no byte to flip.
  crash: () => {},
  setCrashModel: () => {},
  injectFault: () => {},
  flipBit: (path) => detached(path),
  usedBytes: () => 0,
});
