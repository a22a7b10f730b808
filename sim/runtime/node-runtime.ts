// Builds the Runtime one incarnation of a simulated process sees: the shared virtual clock bound to the process,
// its own Random stream, a network view at its own host, its disk behind a crash fence, and a logger into the trace.
// Invariant: once the incarnation has crashed, nothing it started can observe the world again — its timers never
// fire, its connections are dead, and its disk calls (including those in flight) never settle.
import type { Runtime } from '../../src/runtime/index.js';
import type { Disk, DiskFile } from '../../src/runtime/disk.js';
import type { Logger, LogFields, LogLevel } from '../../src/runtime/logger.js';
import { logLevels } from '../../src/runtime/logger.js';
import type { Random } from '../../src/runtime/random.js';
import type { Trace } from '../trace.js';
import type { NetProcess, SimNetwork } from './sim-network.js';
import type { VirtualClock } from './virtual-clock.js';

export interface NodeRuntimeParts {
  clock: VirtualClock;
  network: SimNetwork;
  process: NetProcess;
  random: Random;
  disk: Disk;
  trace: Trace;
  logLevel: LogLevel;
}

export function createNodeRuntime(parts: NodeRuntimeParts): Runtime {
  const owner = parts.process.owner;
  const incarnation = owner.incarnation;
  const alive = (): boolean => owner.incarnation === incarnation;
  return {
    clock: parts.clock.viewFor(owner),
    random: parts.random,
    network: parts.network.viewFor(parts.process),
    disk: fenceDisk(parts.disk, alive),
    log: traceLogger(parts.trace, owner.nodeId, parts.logLevel, {}),
  };
}

/** A promise that never settles: what a dead process's pending I/O turns into. */
function never<T>(): Promise<T> {
  return new Promise<T>(() => {});
}

function fenced<T>(alive: () => boolean, op: () => Promise<T>): Promise<T> {
  if (!alive()) return never();
  return op().then(
    (value) => (alive() ? value : never<T>()),
    (error: unknown) => (alive() ? Promise.reject(error) : never<T>()),
  );
}

function fenceFile(file: DiskFile, alive: () => boolean): DiskFile {
  return {
    path: file.path,
    size: () => file.size(),
    append: (data) => fenced(alive, () => file.append(data)),
    write: (data, position) => fenced(alive, () => file.write(data, position)),
    read: (position, length) => fenced(alive, () => file.read(position, length)),
    truncate: (size) => fenced(alive, () => file.truncate(size)),
    reserve: (position, length) => alive() && file.reserve(position, length),
    sync: () => fenced(alive, () => file.sync()),
    datasync: () => fenced(alive, () => file.datasync()),
    close: () => fenced(alive, () => file.close()),
  };
}

export function fenceDisk(disk: Disk, alive: () => boolean): Disk {
  return {
    open: (path, options) => fenced(alive, () => disk.open(path, options)).then((f) => fenceFile(f, alive)),
    readFile: (path) => fenced(alive, () => disk.readFile(path)),
    writeFileAtomic: (path, data) => fenced(alive, () => disk.writeFileAtomic(path, data)),
    rename: (from, to) => fenced(alive, () => disk.rename(from, to)),
    remove: (path) => fenced(alive, () => disk.remove(path)),
    removeDir: (path) => fenced(alive, () => disk.removeDir(path)),
    mkdir: (path) => fenced(alive, () => disk.mkdir(path)),
    list: (dir) => fenced(alive, () => disk.list(dir)),
    exists: (path) => fenced(alive, () => disk.exists(path)),
    stat: (path) => fenced(alive, () => disk.stat(path)),
    syncDir: (dir) => fenced(alive, () => disk.syncDir(dir)),
  };
}

/** A Logger whose lines become trace events `log.<level>` stamped with virtual time, node and actor. */
export function traceLogger(trace: Trace, node: string, level: LogLevel, bindings: LogFields): Logger {
  const threshold = logLevels.indexOf(level);
  // The actor id has its own key in the trace line; the other bindings go with each line's fields.
  const { actor: actorBinding, ...rest } = bindings;
  const actor = typeof actorBinding === 'string' ? actorBinding : undefined;
  const hasRest = Object.keys(rest).length > 0;
  const line = (lvl: LogLevel) => {
    if (logLevels.indexOf(lvl) < threshold) return (): void => {};
    const ev = `log.${lvl}`;
    return (fields: LogFields, message: string): void => {
      trace.record(node, ev, loggable(hasRest ? { ...rest, ...fields, msg: message } : { ...fields, msg: message }), actor);
    };
  };
  return {
    trace: line('trace'),
    debug: line('debug'),
    info: line('info'),
    warn: line('warn'),
    error: line('error'),
    fatal: line('fatal'),
    child: (more) => traceLogger(trace, node, level, { ...bindings, ...more }),
  };
}

/** Byte arrays and errors in log fields become short, stable descriptions instead of huge or empty JSON. */
function loggable(fields: LogFields): LogFields {
  for (const [k, v] of Object.entries(fields)) {
    if (v instanceof Uint8Array) fields[k] = { bytes: v.length };
    else if (v instanceof Error) fields[k] = { error: v.name, message: v.message };
  }
  return fields;
}
