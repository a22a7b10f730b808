// The clean-shutdown marker of a broker's data directory (KIP-966, like Kafka's `.kafka_cleanshutdown`): written after
// every partition log was flushed on a clean stop, taken (read, then durably removed) on start. Keeps: a marker exists
// only while nothing has been written since the flush it vouches for, so a broker that finds none must assume it lost
// unflushed records (previousBrokerEpoch = -1) and the controller stops trusting it as an eligible leader.
import { z } from 'zod';
import { dirName, joinPath, type Disk } from '../runtime/disk.js';
import { DiskNotFoundError } from '../runtime/errors.js';
import type { Logger } from '../runtime/logger.js';

/** The marker's name at the root of the data directory (the broker's Disk is rooted there). */
export const cleanShutdownFile = '.raftline-clean-shutdown';

const markerSchema = z.object({ version: z.literal(0), brokerEpoch: z.number().int().min(0).max(Number.MAX_SAFE_INTEGER) }).strict();

/** The broker epoch previousBrokerEpoch carries when there is no (valid) marker: the last stop was unclean. */
export const uncleanBrokerEpoch = -1;

function markerPath(dir: string): string {
  return joinPath(dir, cleanShutdownFile);
}

/**
 * Writes the marker recording `brokerEpoch`. Call only after every log was flushed and closed: the marker says "this
 * broker's logs hold everything it acknowledged". Atomic (write, fsync, rename, fsync of the directory).
 */
export async function writeCleanShutdownMarker(disk: Disk, dir: string, brokerEpoch: number): Promise<void> {
  if (!Number.isSafeInteger(brokerEpoch) || brokerEpoch < 0) throw new RangeError(`clean-shutdown marker: broker epoch ${brokerEpoch} is not a registered epoch`);
  const body = JSON.stringify(markerSchema.parse({ version: 0, brokerEpoch }));
  await disk.writeFileAtomic(markerPath(dir), new TextEncoder().encode(body));
}

/**
 * Reads and removes the marker, making the removal durable before anything else is written (a crash after this start
 * must not find the old marker and claim a clean stop). Returns the epoch it recorded, or -1 when there is none or it
 * cannot be read (a damaged marker proves nothing, so it counts as unclean).
 */
export async function takeCleanShutdownMarker(disk: Disk, dir: string, log: Logger): Promise<number> {
  const path = markerPath(dir);
  let bytes: Uint8Array;
  try {
    bytes = await disk.readFile(path);
  } catch (error) {
    if (error instanceof DiskNotFoundError) {
      log.info({ previousBrokerEpoch: uncleanBrokerEpoch }, 'no clean-shutdown marker: the last stop was unclean (or this is the first start)');
      return uncleanBrokerEpoch;
    }
    throw error;
  }
  let epoch = uncleanBrokerEpoch;
  try {
    epoch = markerSchema.parse(JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes))).brokerEpoch;
  } catch (error) {
    log.warn({ path, err: error instanceof Error ? error.message : String(error) }, 'clean-shutdown marker is damaged; treating the last stop as unclean');
  }
  await disk.remove(path);
  await disk.syncDir(dirName(path));
  if (epoch !== uncleanBrokerEpoch) log.info({ previousBrokerEpoch: epoch }, 'clean-shutdown marker found: the last stop was clean');
  return epoch;
}
