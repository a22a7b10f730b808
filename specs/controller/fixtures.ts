// Shared helpers for the controller specs: a deterministic Random, and record builders.
import type { Random } from '../../src/runtime/random.js';
import { MetadataRecord, type TopicId } from '../../src/controller/records.js';
import { applyRecords, checkImage, emptyImage, type MetadataImage } from '../../src/controller/image.js';
import { brokerHeartbeat, defaultControllerSettings, isCommandError, registerBroker, type CommandContext, type CommandOutcome, type ControllerSettings } from '../../src/controller/commands.js';
import { RaftlineError } from '../../src/wire/errors.js';

/** A small seeded PRNG (mulberry32) implementing the Random port, so specs are reproducible. */
export function seededRandom(seed: number): Random {
  let a = seed >>> 0;
  const next = (): number => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const random: Random = {
    next,
    int: (max) => Math.floor(next() * max),
    range: (min, max) => min + Math.floor(next() * (max - min)),
    bytes: (n) => Uint8Array.from({ length: n }, () => Math.floor(next() * 256)),
    split: (label) => seededRandom((seed ^ [...label].reduce((h, c) => Math.imul(h, 31) + c.charCodeAt(0), 7)) >>> 0),
  };
  return random;
}

export const topicA: TopicId = 'AAAAAAAAAAAAAAAAAAAAAQ';

export function register(brokerId: number, brokerEpoch: number, rack: string | null = null): MetadataRecord {
  return { type: 'register-broker', version: 0, brokerId, incarnationId: `inc-${brokerId}-${brokerEpoch}`, brokerEpoch, rack, endpoints: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 9000 + brokerId }] };
}

export function unfence(brokerId: number, brokerEpoch: number): MetadataRecord {
  return { type: 'unfence-broker', version: 0, brokerId, brokerEpoch };
}

/**
 * A controller core under test: runs a command against the current image, and on success applies its records at
 * the offsets the command was told (as the controller machine does once they commit), checking every invariant.
 */
export class Harness {
  image: MetadataImage = emptyImage;
  /** The records the last successful command wrote. */
  lastRecords: readonly MetadataRecord[] = [];
  readonly random: Random;

  constructor(seed = 1, readonly settings: ControllerSettings = defaultControllerSettings) {
    this.random = seededRandom(seed);
  }

  ctx(): CommandContext {
    return { nextOffset: this.image.offset + 1, random: this.random, settings: this.settings };
  }

  /** Runs a command; returns its response, or the RaftlineError it answered with. */
  run<R>(command: (image: MetadataImage, ctx: CommandContext) => CommandOutcome<R>): R | RaftlineError {
    const outcome = command(this.image, this.ctx());
    if (isCommandError(outcome)) return outcome;
    // Every record a handler writes must also pass the log's schema (the bytes on disk are decoded with it).
    for (const r of outcome.records) MetadataRecord.parse(r);
    this.lastRecords = outcome.records;
    this.image = applyRecords(this.image, outcome.records, this.image.offset + 1);
    checkImage(this.image);
    return outcome.response;
  }

  /** Runs a command that must succeed. */
  ok<R>(command: (image: MetadataImage, ctx: CommandContext) => CommandOutcome<R>): R {
    const r = this.run(command);
    if (r instanceof RaftlineError) throw new Error(`expected success, got ${r.code}: ${r.message}`);
    return r;
  }

  /** Registers broker `brokerId`, heartbeats it caught up so it is unfenced, and returns its epoch. */
  addBroker(brokerId: number, rack: string | null = null): number {
    const { brokerEpoch } = this.ok((img, ctx) =>
      registerBroker(img, { brokerId, incarnationId: `inc-${brokerId}-${img.offset}`, rack, endpoints: [{ name: 'PLAINTEXT', host: '127.0.0.1', port: 9000 + brokerId }], previousBrokerEpoch: -1 }, ctx));
    this.ok((img, ctx) => brokerHeartbeat(img, { brokerId, brokerEpoch, currentMetadataOffset: img.offset, wantFence: false, wantShutDown: false }, ctx));
    return brokerEpoch;
  }

  epoch(brokerId: number): number {
    const b = this.image.brokers.get(brokerId);
    if (b === undefined) throw new Error(`broker ${brokerId} not registered`);
    return b.brokerEpoch;
  }
}
