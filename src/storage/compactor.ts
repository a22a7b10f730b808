// Segment compaction (cleanup.policy=compact): rewrites one closed segment keeping only the records `keep` approves.
// Invariants: surviving records keep their offsets, timestamps, keys, values and headers; a batch whose records all
// survive is copied byte for byte; a partly kept batch is re-encoded with its original base offset, last offset
// delta, epoch, producer fields and codec; the cleaned file is synced before the caller renames it into place.
import type { Disk } from '../runtime/disk.js';
import { decodeRecords, encodeBatch, readBatchHeader } from './record-batch.js';

export interface CompactSegmentOptions {
  disk: Disk;
  batches: AsyncIterable<Uint8Array>;
  cleanedPath: string;
  /** Whether a record survives: its key (null for keyless records), offset, tombstone flag and timestamp. */
  keep: (key: Buffer | null, offset: number, isTombstone: boolean, timestamp: number) => boolean;
}

export async function compactSegment(options: CompactSegmentOptions): Promise<{ changed: boolean; bytes: number }> {
  const { disk, cleanedPath } = options;
  if (await disk.exists(cleanedPath)) await disk.remove(cleanedPath);
  const out = await disk.open(cleanedPath, { create: true });
  let changed = false;
  let bytes = 0;
  try {
    for await (const batch of options.batches) {
      const header = readBatchHeader(batch);
      const records = decodeRecords(batch);
      const kept = records.filter((r) => options.keep(r.key, r.offset, r.value === null, r.timestamp));
      if (kept.length === records.length) {
        await out.write(batch, bytes);
        bytes += batch.length;
        continue;
      }
      changed = true;
      if (kept.length === 0) continue;
      const rebuilt = encodeBatch({
        records: kept.map((r) => ({ key: r.key, value: r.value, headers: r.headers, timestamp: r.timestamp, offsetDelta: r.offset - header.baseOffset })),
        timestamp: header.firstTimestamp,
        firstTimestamp: header.firstTimestamp,
        lastOffsetDelta: header.lastOffsetDelta,
        compression: header.compression,
        baseOffset: header.baseOffset,
        partitionLeaderEpoch: header.partitionLeaderEpoch,
        producerId: header.producerId,
        producerEpoch: header.producerEpoch,
        baseSequence: header.baseSequence,
        isTransactional: header.isTransactional,
        isControl: header.isControl,
        timestampType: header.timestampType,
      });
      await out.write(rebuilt, bytes);
      bytes += rebuilt.length;
    }
    if (changed) await out.sync();
  } finally {
    await out.close();
  }
  if (!changed) await disk.remove(cleanedPath);
  return { changed, bytes };
}
