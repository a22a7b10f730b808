// `raftline topic create|describe|list|delete|alter-config|describe-config`: topics through the metadata quorum. Writes
// go to any node (brokers forward them to the active controller); reads come from the answering node's committed image.
// Config keys and values are validated by the controller (one table, src/controller/topic-config.ts); the command line
// checks only the form of its flags.
import type { CliCommand } from '../command.js';
import { requestController } from './cluster.js';
import { UsageError } from '../args.js';
import { RaftlineError, isErrorCode } from '../../wire/errors.js';

function parseConfigs(values: string[] | undefined, flag = 'config'): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of values ?? []) {
    const at = pair.indexOf('=');
    if (at <= 0 || pair.slice(0, at).trim().length === 0) throw new UsageError(`--${flag} takes key=value, got ${JSON.stringify(pair)}`);
    const key = pair.slice(0, at).trim();
    if (Object.hasOwn(out, key)) throw new UsageError(`--${flag} gives ${key} twice`);
    out[key] = pair.slice(at + 1);
  }
  return out;
}

type ConfigOp = { key: string; op: 'set' | 'delete'; value?: string };

/** The operations of `topic alter-config`: every --set, then every --delete; a key in both is ambiguous. */
function alterOps(sets: string[] | undefined, deletes: string[] | undefined): ConfigOp[] {
  const set = parseConfigs(sets, 'set');
  const del = (deletes ?? []).map((k) => k.trim());
  for (const key of del) {
    if (key.length === 0 || key.includes('=')) throw new UsageError(`--delete takes a config key, got ${JSON.stringify(key)}`);
    if (Object.hasOwn(set, key)) throw new UsageError(`${key} is both set and deleted; give one`);
  }
  if (new Set(del).size !== del.length) throw new UsageError('--delete gives a key twice');
  const ops: ConfigOp[] = [...Object.entries(set).map(([key, value]): ConfigOp => ({ key, op: 'set', value })), ...del.map((key): ConfigOp => ({ key, op: 'delete' }))];
  if (ops.length === 0) throw new UsageError('raftline topic alter-config needs at least one --set key=value or --delete key');
  return ops;
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
    path: ['topic', 'alter-config'],
    summary: 'change topic configs: raftline topic alter-config NAME [--set key=value]... [--delete key]... [--validate-only]',
    flags: {
      set: { value: true, repeat: true, help: 'set a topic config, key=value (repeatable)' },
      delete: { value: true, repeat: true, help: 'remove a topic override, back to the cluster/broker default (repeatable)' },
      'validate-only': { value: false, help: 'check the change without applying it' },
    },
    async run(ctx) {
      const name = topicArg(ctx.args.positionals, 'alter-config');
      const ops = alterOps(ctx.args.flags.get('set'), ctx.args.flags.get('delete'));
      const validateOnly = ctx.flag('validate-only') === 'true';
      const res = await requestController(ctx, 'controller.alter-configs', { resources: [{ type: 'topic', name, ops }], validateOnly });
      const item = res.resources[0];
      if (item === undefined) throw new RaftlineError('UNKNOWN_SERVER_ERROR', 'alter-configs answered without the topic');
      raiseItem(item.error);
      const said = ops.map((o) => (o.op === 'set' ? `${o.key}=${o.value ?? ''}` : `${o.key} (deleted)`)).join(', ');
      ctx.output({ name, validateOnly, ops }, () => `${validateOnly ? 'would alter' : 'altered'} configs of topic ${name}: ${said}`);
    },
  },
  {
    path: ['topic', 'describe-config'],
    summary: 'every config of a topic with its effective value and where it comes from (topic, cluster, static, default)',
    flags: {
      'overrides-only': { value: false, help: 'only the topic\'s own overrides' },
    },
    async run(ctx) {
      const name = topicArg(ctx.args.positionals, 'describe-config');
      const res = await ctx.session().rpc.request('controller.describe-configs', { resources: [{ type: 'topic', name }] });
      const item = res.resources[0];
      if (item === undefined) throw new RaftlineError('UNKNOWN_SERVER_ERROR', 'describe-configs answered without the topic');
      raiseItem(item.error);
      const configs = ctx.flag('overrides-only') === 'true' ? item.configs.filter((c) => c.source === 'topic') : item.configs;
      ctx.output({ name, configs }, () => {
        if (configs.length === 0) return `topic ${name} has no overrides`;
        const width = Math.max(...configs.map((c) => c.name.length));
        return [`topic ${name} configs:`, ...configs.map((c) => `  ${c.name.padEnd(width)}  ${c.value}  (${c.source})`)].join('\n');
      });
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
