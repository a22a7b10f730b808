// `raftline topic create|describe|list|delete`: topics through the metadata quorum. Writes go to any node (brokers
// forward them to the active controller); reads come from the answering node's committed image.
import type { CliCommand } from '../command.js';
import { requestController } from './cluster.js';
import { UsageError } from '../args.js';
import { RaftlineError, isErrorCode } from '../../wire/errors.js';

function parseConfigs(values: string[] | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of values ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0) throw new UsageError(`--config takes key=value, got ${JSON.stringify(pair)}`);
    out[pair.slice(0, at).trim()] = pair.slice(at + 1);
  }
  return out;
}

function topicArg(positionals: string[], verb: string): string {
  const name = positionals[0];
  if (name === undefined || positionals.length > 1) throw new UsageError(`raftline topic ${verb} takes one topic name`);
  return name;
}

/** A per-item error in a batch response becomes the command's error (exit 1, `CODE: message`). */
function raiseItem(error: { code: string; message: string } | null): void {
  if (error === null) return;
  throw new RaftlineError(isErrorCode(error.code) ? error.code : 'UNKNOWN_SERVER_ERROR', error.message);
}

export const topicCommands: CliCommand[] = [
  {
    path: ['topic', 'create'],
    summary: 'create a topic: raftline topic create NAME [--partitions N] [--replication-factor N] [--config k=v]...',
    flags: {
      partitions: { value: true, help: 'partitions (default: the cluster\'s num.partitions)' },
      'replication-factor': { value: true, help: 'replicas per partition (default: default.replication.factor)' },
      config: { value: true, repeat: true, help: 'a topic config, key=value (repeatable)' },
      'validate-only': { value: false, help: 'check the request without creating the topic' },
    },
    async run(ctx) {
      const name = topicArg(ctx.args.positionals, 'create');
      const res = await requestController(ctx, 'controller.create-topics', {
        topics: [
          {
            name,
            numPartitions: ctx.int('partitions', 1, 100_000) ?? -1,
            replicationFactor: ctx.int('replication-factor', 1, 32) ?? -1,
            configs: parseConfigs(ctx.args.flags.get('config')),
          },
        ],
        validateOnly: ctx.flag('validate-only') === 'true',
      });
      const item = res.topics[0]!;
      raiseItem(item.error);
      ctx.output(item, () =>
        `${ctx.flag('validate-only') === 'true' ? 'would create' : 'created'} topic ${item.name} (${item.numPartitions} partitions, replication factor ${item.replicationFactor}${item.topicId ? `, id ${item.topicId}` : ''})`,
      );
    },
  },
  {
    path: ['topic', 'describe'],
    summary: 'partitions of a topic: leader, replicas, ISR, ELR, leader epoch, high watermark',
    flags: {},
    async run(ctx) {
      const name = topicArg(ctx.args.positionals, 'describe');
      const res = await ctx.session().rpc.request('controller.describe-topics', { topics: [name] });
      const topic = res.topics[0]!;
      raiseItem(topic.error);
      ctx.output(topic, () => {
        const configs = Object.entries(topic.configs).map(([k, v]) => `${k}=${v}`).join(', ');
        const rows = topic.partitions.map(
          (p) =>
            `  partition ${p.partitionId}  leader ${p.leader === -1 ? 'none (offline)' : p.leader}  epoch ${p.leaderEpoch}  replicas [${p.replicas.join(',')}]  isr [${p.isr.join(',')}]  elr [${p.elr.join(',')}]  hw ${p.highWatermark ?? '-'}`,
        );
        return `topic ${topic.name} (id ${topic.topicId ?? '-'}, ${topic.partitions.length} partitions)${configs ? `\n  configs: ${configs}` : ''}\n${rows.join('\n')}`;
      });
    },
  },
  {
    path: ['topic', 'list'],
    summary: 'every topic with its partition count',
    flags: {},
    async run(ctx) {
      const res = await ctx.session().rpc.request('controller.describe-topics', { topics: null });
      const list = res.topics.map((t) => ({ name: t.name, topicId: t.topicId, partitions: t.partitions.length }));
      ctx.output(list, () => (list.length === 0 ? 'no topics' : list.map((t) => `${t.name}  ${t.partitions} partitions`).join('\n')));
    },
  },
  {
    path: ['topic', 'delete'],
    summary: 'delete a topic',
    flags: {},
    async run(ctx) {
      const name = topicArg(ctx.args.positionals, 'delete');
      const res = await requestController(ctx, 'controller.delete-topics', { topics: [{ name }] });
      const item = res.topics[0]!;
      raiseItem(item.error);
      ctx.output(item, () => `deleted topic ${name}`);
    },
  },
];
