// fallocate(2) with FALLOC_FL_KEEP_SIZE, for DiskFile.reserve: neither node:fs nor libuv has it, so it is called in
// the C library through koffi (an FFI package that ships prebuilt binaries, an optional dependency). Where koffi or
// the function is missing (another OS, a libc that is not glibc, an install without optional packages),
// `startFallocate` is undefined and reservations are simply not made: they only make writes cheaper, never different.
//
// The call runs on koffi's worker thread (`.async`), not on the event loop: on a busy ext4 journal it may wait.
import { libcFunction } from './libc.js';

/** FALLOC_FL_KEEP_SIZE: allocate blocks but leave the file's size (and so its contents as read) unchanged. */
const fallocKeepSize = 0x01;

interface AsyncCall {
  async(fd: number, mode: number, offset: number, length: number, done: (err: unknown, result: number) => void): void;
}

const fallocate = libcFunction<AsyncCall>('int fallocate(int fd, int mode, int64_t offset, int64_t len)');

/** Whether this process can reserve blocks at all (reported by the storage bench). */
export const fallocateAvailable = fallocate !== undefined;

/**
 * Starts allocating `length` bytes at `offset` of the open file `fd` without changing its size; resolves true when the
 * file system did it, false when it refused (no support on this file system, disk full: the writes will say so).
 * Undefined when the platform has no way to do it.
 */
export const startFallocate: ((fd: number, offset: number, length: number) => Promise<boolean>) | undefined =
  fallocate === undefined
    ? undefined
    : (fd, offset, length) =>
        new Promise((resolve) => {
          fallocate.async(fd, fallocKeepSize, offset, length, (err, result) => resolve(err === null || err === undefined ? result === 0 : false));
        });
