// The record batch: Raftline's unit of storage and replication, encoded once by the producer and never re-encoded by
// a broker. Layout (big-endian, Kafka's v2 "magic 2" shape, our own code):
//
//   0  baseOffset int64        8  batchLength int32 (bytes after this field)   12 partitionLeaderEpoch int32
//   16 magic int8 (=2)         17 crc uint32 (CRC32C of bytes [21, end))       21 attributes int16
//   23 lastOffsetDelta int32   27 firstTimestamp int64   35 maxTimestamp int64  43 producerId int64
//   51 producerEpoch int16     53 baseSequence int32     57 recordCount int32   61 records (maybe compressed)
//
// Invariant: the CRC covers attributes onward, so a leader that assigns offsets rewrites baseOffset and
// partitionLeaderEpoch without touching the CRC or the records, and a broker validates a batch from its header and CRC.
// Records: length varint, attributes int8, timestampDelta varlong, offsetDelta varint, key (varint length, -1 = null),
// value (same), header count varint, headers (key varint length + UTF-8, value varint length or -1 + bytes).
import { brotliCompressSync, brotliDecompressSync, gzipSync, gunzipSync } from 'node:zlib';
import { RaftlineError } from '../wire/errors.js';
import { batchBytesMax, batchRecordsMax } from '../limits.js';
import { crc32c } from './crc32c.js';

export const batchHeaderBytes = 61;
/** Bytes of baseOffset + batchLength: batchLength counts what follows them. */
export const batchLogOverheadBytes = 12;
export const currentMagic = 2;
const crcOffset = 17;
const crcCoveredFrom = 21;

/** Compression codec ids in attributes bits 0-2. 0 and 1 match Kafka; 5 (brotli) is Raftline's own. */
export type CompressionCodec = 'none' | 'gzip' | 'brotli';
const codecIds: Record<CompressionCodec, number> = { none: 0, gzip: 1, brotli: 5 };
const codecById = new Map<number, CompressionCodec>(Object.entries(codecIds).map(([k, v]) => [v, k as CompressionCodec]));

export type TimestampType = 'create' | 'log-append';

const attrTimestampType = 0x08;
const attrTransactional = 0x10;
const attrControl = 0x20;

export interface RecordHeader {
  key: string;
  value: Buffer | null;
}

export interface RecordHeaderInput {
  key: string;
  value: Uint8Array | null;
}

/** One record as a producer hands it to `encodeBatch`. */
export interface RecordInput {
  key?: Uint8Array | null;
  value: Uint8Array | null;
  headers?: readonly RecordHeaderInput[];
  /** Create time in ms; defaults to the batch's `timestamp`. */
  timestamp?: number;
  /** Offset relative to the batch's base; defaults to the record's index. Only the compactor sets it (to keep offsets). */
  offsetDelta?: number;
}

/** One record as a consumer sees it: key and value are slices of the batch (or of its decompressed body). */
export interface DecodedRecord {
  offset: number;
  timestamp: number;
  key: Buffer | null;
  value: Buffer | null;
  headers: RecordHeader[];
}

export interface EncodeBatchOptions {
  records: readonly RecordInput[];
  /** Timestamp for records that carry none (callers pass clock.now()). */
  timestamp: number;
  compression?: CompressionCodec;
  baseOffset?: number;
  partitionLeaderEpoch?: number;
  producerId?: number;
  producerEpoch?: number;
  baseSequence?: number;
  isTransactional?: boolean;
  isControl?: boolean;
  timestampType?: TimestampType;
  /** Kept from an original batch when the compactor re-encodes survivors (defaults: count - 1, first record's time). */
  lastOffsetDelta?: number;
  firstTimestamp?: number;
}

export interface BatchHeader {
  baseOffset: number;
  batchLength: number;
  partitionLeaderEpoch: number;
  magic: number;
  crc: number;
  attributes: number;
  compression: CompressionCodec;
  timestampType: TimestampType;
  isTransactional: boolean;
  isControl: boolean;
  lastOffsetDelta: number;
  firstTimestamp: number;
  maxTimestamp: number;
  producerId: number;
  producerEpoch: number;
  baseSequence: number;
  recordCount: number;
  /** Whole batch size on disk and on the wire: batchLength + 12. */
  sizeBytes: number;
  /** baseOffset + lastOffsetDelta: the offset after which the next batch starts. */
  lastOffset: number;
}

function corrupt(detail: string): RaftlineError {
  return new RaftlineError('CORRUPT_MESSAGE', detail);
}

// ---- varints (zigzag), written without BigInt: values are safe integers ----

class Writer {
  buf: Buffer;
  pos = 0;
  constructor(initial: number) {
    this.buf = Buffer.allocUnsafe(Math.max(64, initial));
  }
  ensure(n: number): void {
    if (this.pos + n <= this.buf.length) return;
    const next = Buffer.allocUnsafe(Math.max(this.buf.length * 2, this.pos + n));
    this.buf.copy(next, 0, 0, this.pos);
    this.buf = next;
  }
  uvarint(v: number): void {
    this.ensure(10);
    while (v >= 0x80) {
      this.buf[this.pos++] = (v % 0x80) | 0x80;
      v = Math.floor(v / 0x80);
    }
    this.buf[this.pos++] = v;
  }
  varint(v: number): void {
    if (!Number.isSafeInteger(v)) throw new RangeError(`varint needs a safe integer, got ${v}`);
    this.uvarint(v >= 0 ? v * 2 : -v * 2 - 1);
  }
  bytes(b: Uint8Array): void {
    this.ensure(b.length);
    this.buf.set(b, this.pos);
    this.pos += b.length;
  }
  nullableBytes(b: Uint8Array | null | undefined): void {
    if (b === null || b === undefined) this.varint(-1);
    else {
      this.varint(b.length);
      this.bytes(b);
    }
  }
}

class Reader {
  pos: number;
  constructor(
    readonly buf: Buffer,
    start: number,
    /** Reads stop here; a record decoder narrows it to the record's end and widens it back afterwards. */
    public end: number,
  ) {
    this.pos = start;
  }
  skip(length: number): void {
    if (this.pos + length > this.end) throw corrupt('record field runs past the batch');
    this.pos += length;
  }
  uvarint(): number {
    let result = 0;
    let scale = 1;
    for (let i = 0; i < 8; i++) {
      if (this.pos >= this.end) throw corrupt('record varint runs past the batch');
      const byte = this.buf[this.pos++]!;
      result += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) return result;
      scale *= 0x80;
    }
    throw corrupt('record varint is too long');
  }
  varint(): number {
    const z = this.uvarint();
    return z % 2 === 0 ? z / 2 : -(z + 1) / 2;
  }
  slice(length: number): Buffer {
    if (length < 0 || this.pos + length > this.end) throw corrupt('record field runs past the batch');
    const s = this.buf.subarray(this.pos, this.pos + length);
    this.pos += length;
    return s;
  }
  nullableSlice(): Buffer | null {
    const n = this.varint();
    if (n === -1) return null;
    if (n < -1) throw corrupt(`negative field length ${n}`);
    return this.slice(n);
  }
}

/** Bytes of a zigzag varint of `v` (as Writer.varint writes it). */
function varintBytes(v: number): number {
  let z = v >= 0 ? v * 2 : -v * 2 - 1;
  let n = 1;
  while (z >= 0x80) {
    z = Math.floor(z / 0x80);
    n++;
  }
  return n;
}

function nullableBytesLength(b: Uint8Array | null | undefined): number {
  return b === null || b === undefined ? 1 : varintBytes(b.length) + b.length;
}

const noHeaders: readonly RecordHeaderInput[] = [];
const noKeys: readonly Buffer[] = [];

function asBuffer(b: Uint8Array): Buffer {
  return Buffer.isBuffer(b) ? b : Buffer.from(b.buffer, b.byteOffset, b.byteLength);
}

// ---- encode ----

/** Encodes records into one batch, compressed as asked. The producer does this once; brokers keep the bytes. */
export function encodeBatch(options: EncodeBatchOptions): Buffer {
  const records = options.records;
  if (records.length === 0) throw new RangeError('a batch needs at least one record');
  if (records.length > batchRecordsMax) throw new RaftlineError('RECORD_LIST_TOO_LARGE', `${records.length} records in one batch`);
  const compression = options.compression ?? 'none';
  const firstTimestamp = options.firstTimestamp ?? records[0]!.timestamp ?? options.timestamp;
  let maxTimestamp = firstTimestamp;
  const lastOffsetDelta = options.lastOffsetDelta ?? records.length - 1;
  let previousDelta = -1;
  // Records are written straight into the output after room for the batch header: one copy of each key and value,
  // no per-record buffer (the producer's hot path; only compression needs a second buffer).
  let estimate = batchHeaderBytes;
  for (const r of records) estimate += 24 + (r.key?.length ?? 0) + (r.value?.length ?? 0);
  const w = new Writer(estimate);
  w.pos = batchHeaderBytes;
  for (let i = 0; i < records.length; i++) {
    const r = records[i]!;
    const ts = r.timestamp ?? options.timestamp;
    if (!Number.isSafeInteger(ts)) throw new RangeError(`record timestamp must be a safe integer, got ${ts}`);
    if (ts > maxTimestamp) maxTimestamp = ts;
    const offsetDelta = r.offsetDelta ?? i;
    if (!Number.isSafeInteger(offsetDelta) || offsetDelta <= previousDelta || offsetDelta > lastOffsetDelta) {
      throw new RangeError(`offset delta ${offsetDelta} must increase and stay within ${lastOffsetDelta}`);
    }
    previousDelta = offsetDelta;
    const headers = r.headers ?? noHeaders;
    const headerKeys = headers.length === 0 ? noKeys : headers.map((h) => Buffer.from(h.key, 'utf8'));
    // The record's length prefix comes first, so the length is summed from the same fields written below.
    let length = 1 /* attributes */ + varintBytes(ts - firstTimestamp) + varintBytes(offsetDelta);
    length += nullableBytesLength(r.key) + nullableBytesLength(r.value) + varintBytes(headers.length);
    for (let h = 0; h < headers.length; h++) length += varintBytes(headerKeys[h]!.length) + headerKeys[h]!.length + nullableBytesLength(headers[h]!.value);
    const recordStart = w.pos;
    w.varint(length);
    const bodyStart = w.pos;
    w.ensure(1);
    w.buf[w.pos++] = 0; // record attributes: unused, as in Kafka
    w.varint(ts - firstTimestamp);
    w.varint(offsetDelta);
    w.nullableBytes(r.key);
    w.nullableBytes(r.value);
    w.varint(headers.length);
    for (let h = 0; h < headers.length; h++) {
      w.varint(headerKeys[h]!.length);
      w.bytes(headerKeys[h]!);
      w.nullableBytes(headers[h]!.value);
    }
    if (w.pos - bodyStart !== length) throw new Error(`encodeBatch invariant: record ${i} wrote ${w.pos - bodyStart} bytes, its length prefix says ${length} (at ${recordStart})`);
  }
  let out = w.buf.subarray(0, w.pos);
  if (compression !== 'none') {
    const body = out.subarray(batchHeaderBytes);
    const compressed = compression === 'gzip' ? gzipSync(body) : brotliCompressSync(body);
    out = Buffer.allocUnsafe(batchHeaderBytes + compressed.length);
    compressed.copy(out, batchHeaderBytes);
  }
  const total = out.length;
  if (total > batchBytesMax) throw new RaftlineError('MESSAGE_TOO_LARGE', `batch of ${total} bytes exceeds ${batchBytesMax}`);
  let attributes = codecIds[compression];
  if (options.timestampType === 'log-append') attributes |= attrTimestampType;
  if (options.isTransactional) attributes |= attrTransactional;
  if (options.isControl) attributes |= attrControl;
  writeInt64(out, 0, options.baseOffset ?? 0);
  out.writeInt32BE(total - batchLogOverheadBytes, 8);
  out.writeInt32BE(options.partitionLeaderEpoch ?? -1, 12);
  out.writeInt8(currentMagic, 16);
  out.writeInt16BE(attributes, 21);
  out.writeInt32BE(lastOffsetDelta, 23);
  writeInt64(out, 27, firstTimestamp);
  writeInt64(out, 35, maxTimestamp);
  writeInt64(out, 43, options.producerId ?? -1);
  out.writeInt16BE(options.producerEpoch ?? -1, 51);
  out.writeInt32BE(options.baseSequence ?? -1, 53);
  out.writeInt32BE(records.length, 57);
  out.writeUInt32BE(crc32c(out, 0, crcCoveredFrom, total), crcOffset);
  return out;
}

const TWO_POW_32 = 0x1_0000_0000;

/** Writes a safe integer as a big-endian two's-complement int64 (two 32-bit halves: no BigInt on the hot path). */
function writeInt64(b: Buffer, at: number, v: number): void {
  if (!Number.isSafeInteger(v)) throw new RangeError(`int64 field needs a safe integer, got ${v}`);
  const hi = Math.floor(v / TWO_POW_32);
  b.writeInt32BE(hi, at);
  b.writeUInt32BE(v - hi * TWO_POW_32, at + 4);
}

/** Reads a big-endian int64 that must be a safe integer (|v| < 2^53), else the batch is corrupt. */
function readInt64(b: Buffer, at: number, field: string): number {
  const hi = b.readInt32BE(at);
  const lo = b.readUInt32BE(at + 4);
  // Safe integers have |hi| < 2^21; hi = -2^21 with lo = 0 is -2^53, just outside.
  if (hi >= 0x20_0000 || hi < -0x20_0000 || (hi === -0x20_0000 && lo === 0)) {
    throw corrupt(`${field} ${b.readBigInt64BE(at)} is out of range`);
  }
  return hi * TWO_POW_32 + lo;
}

// ---- header, validation, offset assignment ----

/**
 * Parses the fixed header of the batch at `position`. Checks only what is needed to trust the header's shape (enough
 * bytes, a sane length, the magic); `validateBatch` adds the CRC.
 */
export function readBatchHeader(bytes: Uint8Array, position = 0): BatchHeader {
  const b = asBuffer(bytes);
  if (position < 0 || b.length - position < batchHeaderBytes) {
    throw corrupt(`batch header needs ${batchHeaderBytes} bytes, have ${Math.max(0, b.length - position)}`);
  }
  const batchLength = b.readInt32BE(position + 8);
  if (batchLength < batchHeaderBytes - batchLogOverheadBytes || batchLength > batchBytesMax) {
    throw corrupt(`batch length ${batchLength} is out of range`);
  }
  const magic = b.readInt8(position + 16);
  if (magic !== currentMagic) throw corrupt(`unsupported magic ${magic}`);
  const attributes = b.readInt16BE(position + 21);
  const compression = codecById.get(attributes & 0x07);
  if (compression === undefined) throw corrupt(`unknown compression codec ${attributes & 0x07}`);
  const baseOffset = readInt64(b, position, 'base offset');
  const lastOffsetDelta = b.readInt32BE(position + 23);
  const recordCount = b.readInt32BE(position + 57);
  if (lastOffsetDelta < 0 || recordCount < 0 || recordCount > lastOffsetDelta + 1) {
    throw corrupt(`record count ${recordCount} does not fit last offset delta ${lastOffsetDelta}`);
  }
  return {
    baseOffset,
    batchLength,
    partitionLeaderEpoch: b.readInt32BE(position + 12),
    magic,
    crc: b.readUInt32BE(position + crcOffset),
    attributes,
    compression,
    timestampType: attributes & attrTimestampType ? 'log-append' : 'create',
    isTransactional: (attributes & attrTransactional) !== 0,
    isControl: (attributes & attrControl) !== 0,
    lastOffsetDelta,
    firstTimestamp: readInt64(b, position + 27, 'first timestamp'),
    maxTimestamp: readInt64(b, position + 35, 'max timestamp'),
    producerId: readInt64(b, position + 43, 'producer id'),
    producerEpoch: b.readInt16BE(position + 51),
    baseSequence: b.readInt32BE(position + 53),
    recordCount,
    sizeBytes: batchLength + batchLogOverheadBytes,
    lastOffset: baseOffset + lastOffsetDelta,
  };
}

/** The header fields a reader needs to walk stored batches. */
export interface BatchBounds {
  baseOffset: number;
  lastOffset: number;
  sizeBytes: number;
}

/**
 * Reads only the fields needed to walk batches (base offset, length, magic, last offset delta) through a DataView of
 * the bytes: the read path's per-batch cost. Throws CORRUPT_MESSAGE for what readBatchHeader would refuse in them.
 */
export function batchBounds(view: DataView, position: number): BatchBounds {
  if (position < 0 || view.byteLength - position < batchHeaderBytes) throw corrupt('batch header is cut off');
  const batchLength = view.getInt32(position + 8);
  if (batchLength < batchHeaderBytes - batchLogOverheadBytes || batchLength > batchBytesMax) {
    throw corrupt(`batch length ${batchLength} is out of range`);
  }
  if (view.getInt8(position + 16) !== currentMagic) throw corrupt(`unsupported magic ${view.getInt8(position + 16)}`);
  const hi = view.getInt32(position);
  if (hi >= 0x20_0000 || hi < 0) throw corrupt(`base offset is out of range`);
  const baseOffset = hi * TWO_POW_32 + view.getUint32(position + 4);
  const lastOffsetDelta = view.getInt32(position + 23);
  if (lastOffsetDelta < 0) throw corrupt(`last offset delta ${lastOffsetDelta} is negative`);
  return { baseOffset, lastOffset: baseOffset + lastOffsetDelta, sizeBytes: batchLength + batchLogOverheadBytes };
}

/** True when the stored CRC matches the bytes it covers. */
export function batchCrcMatches(bytes: Uint8Array, position: number, header: BatchHeader): boolean {
  const end = position + header.sizeBytes;
  if (end > bytes.length) return false;
  return crc32c(bytes, 0, position + crcCoveredFrom, end) === header.crc;
}

/**
 * Checks one whole batch at `position` except its CRC: header shape, that the batch fits in `bytes`, and `maxBytes`
 * (max.message.bytes). Throws CORRUPT_MESSAGE or MESSAGE_TOO_LARGE. `validateBatch` adds the CRC.
 */
export function checkBatchShape(bytes: Uint8Array, position = 0, maxBytes = batchBytesMax): BatchHeader {
  const header = readBatchHeader(bytes, position);
  if (position + header.sizeBytes > bytes.length) {
    throw corrupt(`batch of ${header.sizeBytes} bytes is cut off after ${bytes.length - position}`);
  }
  if (header.sizeBytes > maxBytes) {
    throw new RaftlineError('MESSAGE_TOO_LARGE', `batch of ${header.sizeBytes} bytes exceeds max.message.bytes ${maxBytes}`);
  }
  return header;
}

/**
 * Validates one whole batch at `position` without decoding its records: header shape, that the batch fits in `bytes`,
 * the CRC, and `maxBytes` (max.message.bytes). Throws CORRUPT_MESSAGE or MESSAGE_TOO_LARGE.
 */
export function validateBatch(bytes: Uint8Array, position = 0, maxBytes = batchBytesMax): BatchHeader {
  const header = checkBatchShape(bytes, position, maxBytes);
  if (!batchCrcMatches(bytes, position, header)) throw corrupt(`batch at offset ${header.baseOffset}: CRC mismatch`);
  return header;
}

/**
 * Headers of consecutive whole batches in `bytes`, each checked by `checkBatchShape` but not yet by its CRC: the
 * first half of `validateBatches`, for a caller that checks the CRCs (`verifyBatchCrcs`) at a time of its choosing.
 */
export function scanBatches(bytes: Uint8Array, maxBytes = batchBytesMax): Array<{ header: BatchHeader; position: number }> {
  const out: Array<{ header: BatchHeader; position: number }> = [];
  let position = 0;
  while (position < bytes.length) {
    const header = checkBatchShape(bytes, position, maxBytes);
    out.push({ header, position });
    position += header.sizeBytes;
  }
  if (out.length === 0) throw corrupt('no record batch in the request');
  return out;
}

/** The second half of `validateBatches`: throws CORRUPT_MESSAGE naming the first batch whose CRC does not match. */
export function verifyBatchCrcs(bytes: Uint8Array, found: ReadonlyArray<{ header: BatchHeader; position: number }>): void {
  for (const { header, position } of found) {
    if (!batchCrcMatches(bytes, position, header)) throw corrupt(`batch at offset ${header.baseOffset}: CRC mismatch`);
  }
}

/** Headers of consecutive whole batches in `bytes` (e.g. a produce request or a fetch response), each validated. */
export function validateBatches(bytes: Uint8Array, maxBytes = batchBytesMax): Array<{ header: BatchHeader; position: number }> {
  const found = scanBatches(bytes, maxBytes);
  verifyBatchCrcs(bytes, found);
  return found;
}

/** Rewrites the header fields a leader assigns (outside the CRC): the base offset and the partition leader epoch. */
export function assignOffsetAndEpoch(bytes: Uint8Array, position: number, baseOffset: number, leaderEpoch: number): void {
  const b = asBuffer(bytes);
  writeInt64(b, position, baseOffset);
  b.writeInt32BE(leaderEpoch, position + 12);
}

// ---- decode ----

/** Builds a caller's record from a decoded one's fields, or returns undefined to leave it out. */
export type RecordBuilder<T> = (offset: number, timestamp: number, key: Buffer | null, value: Buffer | null, headers: RecordHeader[]) => T | undefined;

const toDecodedRecord: RecordBuilder<DecodedRecord> = (offset, timestamp, key, value, headers) => ({ offset, timestamp, key, value, headers });

/**
 * Decodes the records of the batch at `position`. Keys and values are Buffer slices into the batch (or into its
 * decompressed body), not copies. The CRC is checked first unless `verifyCrc` is false: a consumer never sees
 * records of a damaged batch.
 */
export function decodeRecords(bytes: Uint8Array, position = 0, options: { verifyCrc?: boolean } = {}): DecodedRecord[] {
  const out: DecodedRecord[] = [];
  decodeRecordsInto(bytes, position, toDecodedRecord, out, options);
  return out;
}

/**
 * Decodes the batch at `position` and pushes `build`'s record for each of its records onto `out` (in offset order),
 * so a consumer makes its own record type directly, with no intermediate object per record. Key and value are
 * slices of the batch (or of its decompressed body). A damaged batch throws CORRUPT_MESSAGE; records already pushed
 * stay in `out`.
 */
export function decodeRecordsInto<T>(bytes: Uint8Array, position: number, build: RecordBuilder<T>, out: T[], options: { verifyCrc?: boolean } = {}): void {
  const b = asBuffer(bytes);
  const header = readBatchHeader(b, position);
  const end = position + header.sizeBytes;
  if (end > b.length) throw corrupt('batch is cut off');
  if (options.verifyCrc !== false && !batchCrcMatches(b, position, header)) {
    throw corrupt(`batch at offset ${header.baseOffset}: CRC mismatch`);
  }
  let body = b.subarray(position + batchHeaderBytes, end);
  try {
    if (header.compression === 'gzip') body = gunzipSync(body, { maxOutputLength: batchBytesMax * 4 });
    else if (header.compression === 'brotli') body = brotliDecompressSync(body, { maxOutputLength: batchBytesMax * 4 });
  } catch (cause) {
    throw new RaftlineError('CORRUPT_MESSAGE', `batch at offset ${header.baseOffset}: cannot decompress`, { cause });
  }
  // One reader for the whole batch: each record narrows its end to the record's own, so no field can run past it.
  const r = new Reader(body, 0, body.length);
  for (let i = 0; i < header.recordCount; i++) {
    const length = r.varint();
    if (length < 0 || r.pos + length > body.length) throw corrupt('record length runs past the batch');
    const recordEnd = r.pos + length;
    r.end = recordEnd;
    r.skip(1); // attributes
    const timestamp = header.firstTimestamp + r.varint();
    const offsetDelta = r.varint();
    if (offsetDelta < 0 || offsetDelta > header.lastOffsetDelta) throw corrupt(`offset delta ${offsetDelta} outside the batch`);
    const key = r.nullableSlice();
    const value = r.nullableSlice();
    const headerCount = r.varint();
    if (headerCount < 0 || headerCount > length) throw corrupt(`bad header count ${headerCount}`);
    const headers: RecordHeader[] = [];
    for (let h = 0; h < headerCount; h++) {
      const keyLength = r.varint();
      const k = r.slice(keyLength).toString('utf8');
      headers.push({ key: k, value: r.nullableSlice() });
    }
    if (r.pos !== recordEnd) throw corrupt('record has trailing bytes');
    r.end = body.length;
    const record = build(header.baseOffset + offsetDelta, timestamp, key, value, headers);
    if (record !== undefined) out.push(record);
  }
  if (r.pos !== body.length) throw corrupt('batch has bytes after its last record');
}

/** Walks the whole batches in `bytes` (e.g. a fetch response), yielding each header and position; stops at a cut-off tail. */
export function* batchesIn(bytes: Uint8Array): Generator<{ header: BatchHeader; position: number }> {
  let position = 0;
  while (bytes.length - position >= batchHeaderBytes) {
    const header = readBatchHeader(bytes, position);
    if (position + header.sizeBytes > bytes.length) return;
    yield { header, position };
    position += header.sizeBytes;
  }
}
