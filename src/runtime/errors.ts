// Typed host failures raised by the runtime ports (disk, network). Callers switch on the class or on `code`,
// never on the message. Protocol-level errors that cross the wire live in src/wire/errors.ts instead.

export class RuntimeError extends Error {
  constructor(
    readonly code: string,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** ENOSPC: the device has no room for the write. Nothing past the last successful write was stored. */
export class DiskFullError extends RuntimeError {
  constructor(readonly path: string, options?: { cause?: unknown }) {
    super('ENOSPC', `disk full while writing ${path}`, options);
  }
}

/** EIO and other device failures. The file's durable contents are whatever the last successful sync covered. */
export class DiskIoError extends RuntimeError {
  constructor(readonly path: string, detail: string, options?: { cause?: unknown }) {
    super('EIO', `I/O error on ${path}: ${detail}`, options);
  }
}

/** ENOENT: the file or directory does not exist. */
export class DiskNotFoundError extends RuntimeError {
  constructor(readonly path: string, options?: { cause?: unknown }) {
    super('ENOENT', `no such file or directory: ${path}`, options);
  }
}

/** EEXIST: exclusive create of a path that exists. */
export class DiskExistsError extends RuntimeError {
  constructor(readonly path: string, options?: { cause?: unknown }) {
    super('EEXIST', `already exists: ${path}`, options);
  }
}

/** EACCES / EPERM / EROFS: the process may not write there. */
export class DiskPermissionError extends RuntimeError {
  constructor(readonly path: string, options?: { cause?: unknown }) {
    super('EACCES', `permission denied: ${path}`, options);
  }
}

/** The connection closed (by either side or by a network fault) before the operation completed. */
export class ConnectionClosedError extends RuntimeError {
  constructor(readonly remote: string, detail = 'connection closed', options?: { cause?: unknown }) {
    super('ECONNCLOSED', `${detail} (${remote})`, options);
  }
}

/** Connecting failed: nothing listens there, or the network refused or dropped the attempt. */
export class ConnectRefusedError extends RuntimeError {
  constructor(readonly remote: string, options?: { cause?: unknown }) {
    super('ECONNREFUSED', `connection refused: ${remote}`, options);
  }
}

/** Listening failed because the address is taken. */
export class AddressInUseError extends RuntimeError {
  constructor(readonly address: string, options?: { cause?: unknown }) {
    super('EADDRINUSE', `address already in use: ${address}`, options);
  }
}
