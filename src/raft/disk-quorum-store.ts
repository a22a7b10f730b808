// The durable QuorumStateStore (Kafka's `quorum-state` file): epoch, vote and known leader as one small JSON document
// with a CRC32C, replaced with writeFileAtomic, so the file is wholly old or wholly new after any crash and a write
// resolves only once it is durable. Invariants: the epoch never decreases and a vote, once cast in an epoch, never
// changes (asserted on every write, as the memory store does). A missing file is a fresh node (epoch 0, no vote); a
// damaged file is QuorumStateCorruptError, which stops the node: silently starting over could let it vote twice.
import type { Disk } from '../runtime/disk.js';
import { dirName, joinPath } from '../runtime/disk.js';
import { crc32c } from '../storage/crc32c.js';
import { raftQuorumStateBytesMax } from '../limits.js';
import { z } from 'zod';
import { assertQuorumTransition, initialQuorumState } from './memory-quorum-store.js';
import type { QuorumState, QuorumStateStore } from './ports.js';

export const quorumStateFileName = 'quorum-state';
const formatVersion = 1;

const Id = z.number().int().nonnegative().max(Number.MAX_SAFE_INTEGER);
const QuorumStateFile = z.strictObject({
  version: z.literal(formatVersion),
  epoch: Id,
  votedFor: Id.nullable(),
  leaderId: Id.nullable(),
  /** CRC32C of the canonical JSON of the other four fields, in this order. */
  crc: z.number().int().nonnegative().max(0xffffffff),
});

/** The quorum-state file exists but cannot be trusted; the node must not start (an operator decides). */
export class QuorumStateCorruptError extends Error {
  constructor(readonly path: string, detail: string) {
    super(`quorum state ${path} is corrupt: ${detail}`);
    this.name = 'QuorumStateCorruptError';
  }
}

function body(state: QuorumState): string {
  return JSON.stringify({ version: formatVersion, epoch: state.epoch, votedFor: state.votedFor, leaderId: state.leaderId });
}

/** The file's bytes for `state` (exported for the corruption specs). */
export function encodeQuorumState(state: QuorumState): Uint8Array {
  const text = body(state);
  const crc = crc32c(new TextEncoder().encode(text));
  return new TextEncoder().encode(`${text.slice(0, -1)},"crc":${crc}}\n`);
}

/** Parses the file's bytes; throws QuorumStateCorruptError naming what is wrong. */
export function decodeQuorumState(path: string, bytes: Uint8Array): QuorumState {
  if (bytes.byteLength > raftQuorumStateBytesMax) throw new QuorumStateCorruptError(path, `${bytes.byteLength} bytes is more than a quorum state`);
  let json: unknown;
  try {
    json = JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    throw new QuorumStateCorruptError(path, `not JSON (${error instanceof Error ? error.message : String(error)})`);
  }
  const parsed = QuorumStateFile.safeParse(json);
  if (!parsed.success) throw new QuorumStateCorruptError(path, `unexpected shape: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  const state: QuorumState = { epoch: parsed.data.epoch, votedFor: parsed.data.votedFor, leaderId: parsed.data.leaderId };
  if (crc32c(new TextEncoder().encode(body(state))) !== parsed.data.crc) throw new QuorumStateCorruptError(path, 'CRC mismatch');
  return state;
}

export interface DiskQuorumStateStoreOptions {
  disk: Disk;
  /** Directory of the file (the metadata log's directory, like Kafka); created when missing. */
  dir: string;
}

export class DiskQuorumStateStore implements QuorumStateStore {
  readonly path: string;
  private readonly disk: Disk;
  private readonly dir: string;
  /** The durable state as of the last read or completed write; undefined until the file was first read. */
  private durable: QuorumState | undefined;
  /** Writes run one at a time, in order, so the last one asked for is the one on disk. */
  private tail: Promise<void> = Promise.resolve();
  /** How many writes completed (specs check that a vote was persisted). */
  writes = 0;

  constructor(options: DiskQuorumStateStoreOptions) {
    this.disk = options.disk;
    this.dir = options.dir;
    this.path = joinPath(options.dir, quorumStateFileName);
  }

  async read(): Promise<QuorumState> {
    await this.tail;
    const state = await this.load();
    return { ...state };
  }

  write(state: QuorumState): Promise<void> {
    const next = { epoch: state.epoch, votedFor: state.votedFor, leaderId: state.leaderId };
    const run = this.tail.then(async () => {
      const previous = await this.load();
      assertQuorumTransition(previous, next);
      await this.disk.writeFileAtomic(this.path, encodeQuorumState(next));
      this.durable = next;
      this.writes++;
    });
    this.tail = run.catch(() => undefined);
    return run;
  }

  private async load(): Promise<QuorumState> {
    if (this.durable !== undefined) return this.durable;
    if (!(await this.disk.exists(this.path))) {
      // A fresh node: make the directory and every ancestor's entry durable now (mkdir may have created several),
      // or a crash could take the whole directory, and the vote written into it, away.
      await this.disk.mkdir(this.dir);
      for (let d = this.dir; ; ) {
        const parent = dirName(d);
        await this.disk.syncDir(parent);
        if (parent === '.' || parent === '/' || parent === d) break;
        d = parent;
      }
      this.durable = { ...initialQuorumState };
      return this.durable;
    }
    this.durable = decodeQuorumState(this.path, await this.disk.readFile(this.path));
    return this.durable;
  }
}
