// `raftline produce TOPIC` and `raftline consume TOPIC`: the Producer and Consumer of src/client/ on the command line.
// produce reads stdin lines (optionally key<sep>value) and exits once every record is acknowledged; consume prints
// records (text: the value per line; json: one object per line) and exits after --count records or --idle-ms without
// any. A broker's refusal exits 1 as `raftline: CODE: message`; a bad command line exits 2.
import { createInterface } from 'node:readline';
import type { CliCommand, CliContext } from '../command.js';
import { UsageError } from '../args.js';
import { createLogger } from '../../runtime/real/index.js';
import { createConsumer, createProducer } from '../../client/real.js';
import { ClientError, DeliveryTimeoutError, OffsetOutOfRangeError, UnknownTopicError } from '../../client/errors.js';
import type { RecordMetadata } from '../../client/producer.js';
import type { TopicPartition } from '../../client/record-accumulator.js';
import type { Acks } from '../../client/channel.js';
import { RaftlineError } from '../../wire/errors.js';

/** Records one `raftline produce` keeps unacknowledged before it waits (bounds memory on a large stdin). */
const cliProduceWindow = 10_000;

function topicArg(ctx: CliContext, verb: string): string {
  const name = ctx.args.positionals[0];
  if (name === undefined || ctx.args.positionals.length > 1) throw new UsageError(`raftline ${verb} takes one topic name`);
  return name;
}

function bootstrapOf(ctx: CliContext): string {
  return ctx.flag('bootstrap') ?? process.env['RAFTLINE_BOOTSTRAP'] ?? '127.0.0.1:9092';
}

function timeoutOf(ctx: CliContext): number {
  return ctx.int('timeout-ms', 1, 3_600_000) ?? 10_000;
}

function clientLog() {
  return createLogger({ nodeId: 'cli', level: (process.env['RAFTLINE_LOG_LEVEL'] as 'debug' | undefined) ?? 'silent', destination: process.stderr });
}

/** A client-side failure with a broker code behind it becomes that code (exit 1); others keep their own name. */
function asCliError(err: unknown): unknown {
  if (err instanceof DeliveryTimeoutError && err.cause instanceof RaftlineError) {
    return new RaftlineError(err.cause.code, `${err.cause.message} (gave up after delivery.timeout.ms)`);
  }
  if (err instanceof DeliveryTimeoutError) return new RaftlineError('REQUEST_TIMED_OUT', err.message);
  if (err instanceof OffsetOutOfRangeError) return new RaftlineError('OFFSET_OUT_OF_RANGE', err.message);
  if (err instanceof UnknownTopicError) return new RaftlineError('UNKNOWN_TOPIC_OR_PARTITION', err.message);
  if (err instanceof ClientError && err.code === 'INVALID_CONFIG') return new UsageError(err.message);
  return err;
}

function parseAcks(raw: string | undefined): Acks | 'all' {
  if (raw === undefined || raw === 'all' || raw === '-1') return 'all';
  if (raw === '1') return 1;
  if (raw === '0') return 0;
  throw new UsageError(`--acks must be all, -1, 1 or 0, got ${JSON.stringify(raw)}`);
}

export const dataCommands: CliCommand[] = [
  {
    path: ['produce'],
    summary: 'send stdin lines as records: raftline produce TOPIC [--key-separator :] [--acks all|1|0] [--partition N]',
    flags: {
      'key-separator': { value: true, help: 'split each line at the first SEP into key and value (a line without it is an error)' },
      acks: { value: true, help: 'all (default), 1 or 0' },
      partition: { value: true, help: 'send every record to this partition (default: by key, or sticky for no key)' },
      'linger-ms': { value: true, help: 'linger.ms (default 5)' },
      compression: { value: true, help: 'none (default), gzip or brotli' },
    },
    async run(ctx) {
      const topic = topicArg(ctx, 'produce');
      const separator = ctx.flag('key-separator');
      if (separator !== undefined && separator.length === 0) throw new UsageError('--key-separator must not be empty');
      const acks = parseAcks(ctx.flag('acks'));
      const partition = ctx.int('partition', 0, 99_999);
      const compression = ctx.flag('compression') ?? 'none';
      if (compression !== 'none' && compression !== 'gzip' && compression !== 'brotli') throw new UsageError(`--compression must be none, gzip or brotli, got ${JSON.stringify(compression)}`);
      const timeoutMs = timeoutOf(ctx);
      const lingerMs = ctx.int('linger-ms', 0, 60_000) ?? 5;
      const producer = createProducer({
        bootstrap: [bootstrapOf(ctx)],
        acks,
        lingerMs,
        compression,
        requestTimeoutMs: timeoutMs,
        deliveryTimeoutMs: 2 * timeoutMs + lingerMs,
        maxBlockMs: timeoutMs,
        log: clientLog(),
      });
      const perPartition = new Map<number, { first: number; last: number; count: number }>();
      let count = 0;
      let failure: unknown;
      const note = (m: RecordMetadata): void => {
        const e = perPartition.get(m.partition) ?? { first: m.offset, last: m.offset, count: 0 };
        e.first = Math.min(e.first, m.offset);
        e.last = Math.max(e.last, m.offset);
        e.count++;
        perPartition.set(m.partition, e);
      };
      // Lines go out with produce() and a callback (no promise per line); at most cliProduceWindow unanswered at once.
      let answered = 0;
      let resume: (() => void) | undefined;
      let resumeAt = 0;
      const onAnswer = (err: Error | null, m: RecordMetadata | null): void => {
        answered++;
        if (err !== null) failure ??= err;
        else note(m!);
        if (resume !== undefined && answered >= resumeAt) {
          const go = resume;
          resume = undefined;
          go();
        }
      };
      try {
        const lines = createInterface({ input: process.stdin, crlfDelay: Number.POSITIVE_INFINITY });
        let lineNo = 0;
        for await (const line of lines) {
          lineNo++;
          let key: string | null = null;
          let value = line;
          if (separator !== undefined) {
            const at = line.indexOf(separator);
            if (at < 0) throw new UsageError(`line ${lineNo} has no key separator ${JSON.stringify(separator)}`);
            key = line.slice(0, at);
            value = line.slice(at + separator.length);
          }
          producer.produce({ topic, key, value, ...(partition === undefined ? {} : { partition }) }, onAnswer);
          count++;
          if (count - answered >= cliProduceWindow) {
            resumeAt = count - cliProduceWindow / 2;
            await new Promise<void>((r) => {
              resume = r;
            });
          }
          if (failure !== undefined) break;
        }
        // Every line produced so far has its answer once flush() resolves.
        await producer.flush();
      } finally {
        await producer.close({ timeoutMs });
      }
      if (failure !== undefined) throw asCliError(failure);
      const partitions = [...perPartition].sort((a, b) => a[0] - b[0]).map(([p, e]) => ({ partition: p, ...e }));
      ctx.output({ topic, records: count, partitions }, () =>
        `produced ${count} record${count === 1 ? '' : 's'} to ${topic}${partitions.length > 0 ? ` (${partitions.map((p) => acks === 0 ? `partition ${p.partition}` : `partition ${p.partition} offsets ${p.first}-${p.last}`).join(', ')})` : ''}`,
      );
    },
  },
  {
    path: ['consume'],
    summary: 'print records: raftline consume TOPIC [--from beginning|end|OFFSET] [--partition N] [--count N] [--idle-ms N]',
    flags: {
      from: { value: true, help: 'beginning, end (default) or an offset' },
      partition: { value: true, help: 'read only this partition (default: all of the topic\'s)' },
      count: { value: true, help: 'exit after this many records' },
      'idle-ms': { value: true, help: 'exit after this long without a record (default 5000)' },
    },
    async run(ctx) {
      const topic = topicArg(ctx, 'consume');
      const fromRaw = ctx.flag('from') ?? 'end';
      let from: 'beginning' | 'end' | number;
      if (fromRaw === 'beginning' || fromRaw === 'end') from = fromRaw;
      else if (/^\d+$/.test(fromRaw) && Number.isSafeInteger(Number(fromRaw))) from = Number(fromRaw);
      else throw new UsageError(`--from must be beginning, end or an offset, got ${JSON.stringify(fromRaw)}`);
      const partition = ctx.int('partition', 0, 99_999);
      const limit = ctx.int('count', 1, Number.MAX_SAFE_INTEGER);
      const idleMs = ctx.int('idle-ms', 1, 3_600_000) ?? 5_000;
      // The topic's partitions (and whether it exists at all) from the bootstrap node's metadata.
      const meta = await ctx.session().rpc.request('data.metadata', { topics: [topic] });
      const described = meta.topics.find((x) => x.name === topic);
      if (described === undefined || described.error !== null) {
        throw new RaftlineError(described?.error?.code === 'UNKNOWN_TOPIC_OR_PARTITION' || described === undefined ? 'UNKNOWN_TOPIC_OR_PARTITION' : 'UNKNOWN_SERVER_ERROR', described?.error?.message ?? `topic ${topic} is not known`);
      }
      const all = described.partitions.map((p) => p.partitionId).sort((a, b) => a - b);
      if (partition !== undefined && !all.includes(partition)) throw new RaftlineError('UNKNOWN_TOPIC_OR_PARTITION', `topic ${topic} has no partition ${partition} (it has ${all.length})`);
      const tps: TopicPartition[] = (partition === undefined ? all : [partition]).map((p) => ({ topic, partition: p }));
      const consumer = createConsumer({
        bootstrap: [bootstrapOf(ctx)],
        requestTimeoutMs: timeoutOf(ctx),
        autoOffsetReset: 'none',
        fetchMaxWaitMs: Math.min(500, idleMs),
        log: clientLog(),
      });
      let printed = 0;
      try {
        consumer.assign(tps);
        if (from === 'beginning') consumer.seekToBeginning();
        else if (from === 'end') consumer.seekToEnd();
        else for (const tp of tps) consumer.seek(tp, from);
        let idleSince = ctx.clock.monotonicMs();
        while (limit === undefined || printed < limit) {
          const idleLeft = idleMs - (ctx.clock.monotonicMs() - idleSince);
          if (idleLeft <= 0) break;
          let records;
          try {
            records = await consumer.poll(Math.min(idleLeft, 500));
          } catch (err) {
            throw asCliError(err);
          }
          if (records.length > 0) idleSince = ctx.clock.monotonicMs();
          for (const r of records) {
            if (limit !== undefined && printed >= limit) break;
            printed++;
            const key = r.key === null ? null : r.key.toString('utf8');
            const value = r.value === null ? null : r.value.toString('utf8');
            ctx.output(
              { topic: r.topic, partition: r.partition, offset: r.offset, timestamp: r.timestamp, key, value, headers: Object.fromEntries(r.headers.map((h) => [h.key, h.value === null ? null : h.value.toString('utf8')])) },
              () => value ?? '',
            );
          }
        }
      } finally {
        consumer.close();
      }
      process.stderr.write(`consumed ${printed} record${printed === 1 ? '' : 's'} from ${topic}\n`);
    },
  },
];
