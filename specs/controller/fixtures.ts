// Shared helpers for the controller specs: a deterministic Random, and record builders.
import type { Random } from '../../src/runtime/random.js';
import type { MetadataRecord, TopicId } from '../../src/controller/records.js';

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
