// The node's configuration: Kafka's key names where one exists, merged from defaults < file < environment < flags,
// and validated by one zod schema. Every value remembers where it came from, so `--print-config` can say so and a bad
// value is reported with its key, its value, its source and what is allowed (exit status 2 in the entry point).
import { z } from 'zod';
import { nodesMax, segmentBytesDefault, segmentBytesMin, maxMessageBytesDefault, preallocateBytesDefault, mallocTrimThresholdBytesDefault, batchBytesMax, controllerHeartbeatIntervalMsDefault, controllerSessionTimeoutMsDefault } from '../limits.js';
import type { LogLevel } from '../runtime/logger.js';

export type ConfigSource = 'default' | 'file' | 'env' | 'flag' | 'derived';

/** A configuration error: the entry point prints `message` as one line and exits with status 2. */
export class ConfigError extends Error {
  constructor(
    readonly key: string,
    message: string,
  ) {
    super(message);
    this.name = 'ConfigError';
  }
}

// Each key: how a raw value (a string from a file, the environment or a flag, or a JSON value) becomes a typed value,
// what is allowed (said in errors and --help), and its default.
interface KeySpec {
  schema: z.ZodType;
  allowed: string;
  doc: string;
}

const intIn = (min: number, max: number): z.ZodType =>
  z
    .union([z.number(), z.string().trim().regex(/^[-+]?\d+$/).transform(Number)])
    .pipe(z.number().int().min(min).max(max));

const bool: z.ZodType = z.union([
  z.boolean(),
  z
    .string()
    .trim()
    .toLowerCase()
    .pipe(z.enum(['true', 'false']))
    .transform((s) => s === 'true'),
]);

const nonEmpty: z.ZodType = z.string().trim().min(1);

const hostPort = /^(\[[0-9a-fA-F:]+\]|[A-Za-z0-9.-]+):(\d{1,5})$/;

function parseHostPort(text: string): { host: string; port: number } | undefined {
  const m = hostPort.exec(text.trim().replace(/^(ws|wss|PLAINTEXT|CONTROLLER):\/\//i, ''));
  if (!m) return undefined;
  const port = Number(m[2]);
  if (port < 0 || port > 65535) return undefined;
  return { host: m[1]!.replace(/^\[(.*)\]$/, '$1'), port };
}

const listener: z.ZodType = z.string().transform((s, ctx) => {
  const parsed = parseHostPort(s);
  if (!parsed) {
    ctx.addIssue({ code: 'custom', message: 'not host:port' });
    return z.NEVER;
  }
  return parsed;
});

export interface Voter {
  id: number;
  host: string;
  port: number;
}

const voters: z.ZodType = z.string().transform((s, ctx) => {
  const text = s.trim();
  if (text === '') return [] as Voter[];
  const out: Voter[] = [];
  for (const part of text.split(',')) {
    const m = /^(\d+)@(.+)$/.exec(part.trim());
    const addr = m ? parseHostPort(m[2]!) : undefined;
    const id = m ? Number(m[1]) : 0;
    if (!m || !addr || id < 1 || id > nodesMax) {
      ctx.addIssue({ code: 'custom', message: `bad voter ${JSON.stringify(part)}` });
      return z.NEVER;
    }
    if (out.some((v) => v.id === id)) {
      ctx.addIssue({ code: 'custom', message: `voter id ${id} listed twice` });
      return z.NEVER;
    }
    out.push({ id, ...addr });
  }
  return out;
});

const roles: z.ZodType = z.string().transform((s, ctx) => {
  const parts = s
    .split(',')
    .map((p) => p.trim())
    .filter((p) => p.length > 0);
  if (parts.length === 0 || parts.some((p) => p !== 'broker' && p !== 'controller') || new Set(parts).size !== parts.length) {
    ctx.addIssue({ code: 'custom', message: 'bad roles' });
    return z.NEVER;
  }
  return { broker: parts.includes('broker'), controller: parts.includes('controller') };
});

const logLevel: z.ZodType = z.string().trim().toLowerCase().pipe(z.enum(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent']));

const dayMs = 24 * 3600 * 1000;

// The keys a node understands. Defaults that depend on other keys (log.dirs, listeners) are derived after merging.
const keySpecs = {
  'node.id': { schema: intIn(1, nodesMax), allowed: `an integer from 1 to ${nodesMax}`, doc: 'this node\'s id, unique in the cluster' },
  'process.roles': { schema: roles, allowed: 'broker, controller, or broker,controller', doc: 'the roles this node plays' },
  'controller.quorum.voters': {
    schema: voters,
    allowed: 'a comma-separated list of id@host:port (e.g. 1@127.0.0.1:9093,2@127.0.0.1:9094)',
    doc: 'the controller quorum\'s voters; empty means a single-node quorum of this node',
  },
  listeners: { schema: listener, allowed: 'host:port (e.g. 127.0.0.1:9092; port 0 picks a free one)', doc: 'where this node serves WebSocket and HTTP' },
  'log.dirs': { schema: nonEmpty, allowed: 'a directory path', doc: 'where this node keeps its data' },
  'log.level': { schema: logLevel, allowed: 'trace, debug, info, warn, error, fatal or silent', doc: 'the logger\'s level' },
  'cluster.id': { schema: z.string().trim().regex(/^[A-Za-z0-9_-]{1,64}$/), allowed: '1 to 64 characters of [A-Za-z0-9_-]', doc: 'the cluster\'s id' },
  'broker.rack': { schema: z.string().trim().max(255), allowed: 'a rack name (up to 255 characters)', doc: 'the rack of this broker, for rack-aware placement' },
  'num.partitions': { schema: intIn(1, 100_000), allowed: 'an integer from 1 to 100000', doc: 'partitions of an auto-created or default topic' },
  'default.replication.factor': { schema: intIn(1, 32), allowed: 'an integer from 1 to 32', doc: 'replication factor when a topic does not give one' },
  'min.insync.replicas': { schema: intIn(1, 32), allowed: 'an integer from 1 to 32', doc: 'in-sync replicas acks=all needs' },
  'unclean.leader.election.enable': { schema: bool, allowed: 'true or false', doc: 'elect an out-of-sync replica when no ISR member is left (may lose data)' },
  'eligible.leader.replicas.enable': { schema: bool, allowed: 'true or false', doc: 'KIP-966 eligible leader replicas: an active controller with this on finalizes feature eligible.leader.replicas.version=1 (never turns it off)' },
  'replica.lag.time.max.ms': { schema: intIn(1, 7 * dayMs), allowed: 'milliseconds from 1 to 604800000', doc: 'a follower this far behind leaves the ISR' },
  'replica.fetch.wait.max.ms': { schema: intIn(0, 60_000), allowed: 'milliseconds from 0 to 60000', doc: 'long-poll time of follower fetches' },
  'log.segment.bytes': { schema: intIn(segmentBytesMin, 2 ** 31 - 1), allowed: `bytes from ${segmentBytesMin} to 2147483647`, doc: 'segment size before a roll' },
  'log.roll.ms': { schema: intIn(1, 365 * dayMs), allowed: 'milliseconds from 1 to 31536000000', doc: 'segment age before a roll' },
  'log.retention.ms': { schema: intIn(-1, 100 * 365 * dayMs), allowed: 'milliseconds, or -1 for unlimited', doc: 'delete segments older than this' },
  'log.retention.bytes': { schema: intIn(-1, Number.MAX_SAFE_INTEGER), allowed: 'bytes, or -1 for unlimited', doc: 'delete segments beyond this size per partition' },
  'log.flush.interval.messages': { schema: intIn(1, Number.MAX_SAFE_INTEGER), allowed: 'a positive integer', doc: 'fsync after this many messages (default: rely on replication)' },
  'log.flush.interval.ms': { schema: intIn(-1, Number.MAX_SAFE_INTEGER), allowed: 'milliseconds, or -1 for never', doc: 'fsync at least this often (default: never; rely on replication)' },
  'message.max.bytes': { schema: intIn(0, batchBytesMax), allowed: `bytes from 0 to ${batchBytesMax}`, doc: 'the largest record batch accepted' },
  'log.preallocate.bytes': { schema: intIn(0, 2 ** 31 - 1), allowed: 'bytes from 0 to 2147483647', doc: 'disk space a busy partition keeps reserved past its active segment\'s data, which makes appends cheaper (0: off)' },
  'controller.quorum.election.timeout.ms': { schema: intIn(10, 600_000), allowed: 'milliseconds from 10 to 600000', doc: 'Raft election timeout (randomised to [t, 2t))' },
  'controller.quorum.fetch.timeout.ms': { schema: intIn(10, 600_000), allowed: 'milliseconds from 10 to 600000', doc: 'a follower that hears nothing this long starts an election' },
  'controller.quorum.election.backoff.max.ms': { schema: intIn(1, 600_000), allowed: 'milliseconds from 1 to 600000', doc: 'cap of the exponential election back-off' },
  'broker.heartbeat.interval.ms': { schema: intIn(10, 600_000), allowed: 'milliseconds from 10 to 600000', doc: 'how often a broker heartbeats to the controller' },
  'broker.session.timeout.ms': { schema: intIn(20, 3_600_000), allowed: 'milliseconds from 20 to 3600000', doc: 'a broker silent this long is fenced' },
  'request.timeout.ms': { schema: intIn(1, 3_600_000), allowed: 'milliseconds from 1 to 3600000', doc: 'default timeout of requests this node sends' },
  'shutdown.timeout.ms': { schema: intIn(100, 600_000), allowed: 'milliseconds from 100 to 600000', doc: 'the longest a clean shutdown may take before the process exits anyway' },
  'gc.incremental.marking': {
    schema: bool,
    allowed: 'true or false',
    doc: 'whether V8 may start incremental major GCs (off: a broker\'s small heap is marked only when it is full; see docs/performance.md)',
  },
  'malloc.trim.threshold.bytes': {
    schema: intIn(0, 2 ** 31 - 1),
    allowed: 'bytes from 0 to 2147483647',
    doc: 'freed memory the process keeps for reuse before glibc returns it to the kernel; fixing it saves re-faulting read buffers (0: glibc\'s adaptive default; docs/storage.md)',
  },
} satisfies Record<string, KeySpec>;

export type ConfigKey = keyof typeof keySpecs;
export const configKeyNames = Object.keys(keySpecs) as ConfigKey[];

const defaults: Partial<Record<ConfigKey, unknown>> = {
  'process.roles': 'broker,controller',
  'controller.quorum.voters': '',
  'log.level': 'info',
  'cluster.id': 'raftline',
  'broker.rack': '',
  'num.partitions': 1,
  'default.replication.factor': 1,
  'min.insync.replicas': 1,
  'unclean.leader.election.enable': false,
  'eligible.leader.replicas.enable': false,
  'replica.lag.time.max.ms': 30_000,
  'replica.fetch.wait.max.ms': 500,
  'log.segment.bytes': segmentBytesDefault,
  'log.roll.ms': 7 * dayMs,
  'log.retention.ms': 7 * dayMs,
  'log.retention.bytes': -1,
  'log.flush.interval.messages': Number.MAX_SAFE_INTEGER,
  'log.flush.interval.ms': -1,
  'message.max.bytes': maxMessageBytesDefault,
  'log.preallocate.bytes': preallocateBytesDefault,
  'controller.quorum.election.timeout.ms': 1000,
  'controller.quorum.fetch.timeout.ms': 2000,
  'controller.quorum.election.backoff.max.ms': 1000,
  'broker.heartbeat.interval.ms': controllerHeartbeatIntervalMsDefault,
  // 2 s, not Kafka's 9 s: a broker killed with -9 loses its leaderships within 3 s (docs/controller.md).
  'broker.session.timeout.ms': controllerSessionTimeoutMsDefault,
  'request.timeout.ms': 30_000,
  'shutdown.timeout.ms': 5_000,
  'gc.incremental.marking': false,
  'malloc.trim.threshold.bytes': mallocTrimThresholdBytesDefault,
};

/** The validated, typed configuration of one node. */
export interface NodeConfig {
  nodeId: number;
  roles: { broker: boolean; controller: boolean };
  voters: Voter[];
  listener: { host: string; port: number };
  dataDir: string;
  logLevel: LogLevel;
  clusterId: string;
  rack: string | undefined;
  numPartitions: number;
  defaultReplicationFactor: number;
  minInsyncReplicas: number;
  uncleanLeaderElection: boolean;
  eligibleLeaderReplicas: boolean;
  replicaLagTimeMaxMs: number;
  replicaFetchWaitMaxMs: number;
  segmentBytes: number;
  segmentMs: number;
  retentionMs: number;
  retentionBytes: number;
  flushIntervalMessages: number;
  flushIntervalMs: number;
  messageMaxBytes: number;
  preallocateBytes: number;
  electionTimeoutMs: number;
  fetchTimeoutMs: number;
  electionBackoffMaxMs: number;
  heartbeatIntervalMs: number;
  sessionTimeoutMs: number;
  requestTimeoutMs: number;
  shutdownTimeoutMs: number;
  /** gc.incremental.marking: applied to the process by the entry point (src/broker/gc-tuning.ts), not by startNode. */
  gcIncrementalMarking: boolean;
  /** malloc.trim.threshold.bytes: applied to the process by the entry point (src/runtime/real/malloc.ts); 0 leaves glibc's. */
  mallocTrimThresholdBytes: number;
}

/** One raw value and where it came from. */
export interface RawValue {
  value: unknown;
  source: ConfigSource;
  /** How the user spelled it (`--node-id`, `RAFTLINE_NODE_ID`, `server.properties:3`), for error messages. */
  origin: string;
}

export interface ResolvedConfig {
  config: NodeConfig;
  /** Every key's effective value (as text) and its source, for --print-config. */
  effective: Array<{ key: ConfigKey; value: string; source: ConfigSource }>;
}

/** The environment variable of a key: `node.id` → `RAFTLINE_NODE_ID`. */
export function envNameOf(key: string): string {
  return 'RAFTLINE_' + key.toUpperCase().replace(/[.-]/g, '_');
}

const envToKey = new Map(configKeyNames.map((k) => [envNameOf(k), k]));

function isConfigKey(key: string): key is ConfigKey {
  return Object.hasOwn(keySpecs, key);
}

function unknownKey(key: string, origin: string): ConfigError {
  const near = configKeyNames.filter((k) => k.includes(key.replace(/^.*\./, '')) || key.includes(k)).slice(0, 3);
  const hint = near.length > 0 ? `; did you mean ${near.join(' or ')}?` : '; see --help for the keys';
  return new ConfigError(key, `unknown configuration key ${JSON.stringify(key)} (from ${origin})${hint}`);
}

/** Parses Java-style .properties text (`key=value`, `key: value`, `#`/`!` comments, `\` continuations and escapes). */
export function parseProperties(text: string, fileName: string): Map<string, RawValue> {
  const out = new Map<string, RawValue>();
  const lines = text.split(/\r?\n/);
  for (let i = 0; i < lines.length; i++) {
    const lineNo = i + 1;
    let line = lines[i]!.replace(/^\s+/, '');
    if (line === '' || line.startsWith('#') || line.startsWith('!')) continue;
    while (/(^|[^\\])(\\\\)*\\$/.test(line) && i + 1 < lines.length) {
      line = line.slice(0, -1) + lines[++i]!.replace(/^\s+/, '');
    }
    const m = /^((?:\\.|[^=:\s\\])+)\s*[=:\s]\s*(.*)$/.exec(line) ?? /^((?:\\.|[^=:\s\\])+)$/.exec(line);
    if (!m) throw new ConfigError('config', `${fileName}:${lineNo}: cannot read this line as key=value: ${JSON.stringify(line)}`);
    const unescape = (s: string): string =>
      s.replace(/\\(u[0-9a-fA-F]{4}|.)/g, (_, c: string) =>
        c.length === 5 ? String.fromCharCode(parseInt(c.slice(1), 16)) : ({ t: '\t', n: '\n', r: '\r', f: '\f' } as Record<string, string>)[c] ?? c,
      );
    const key = unescape(m[1]!);
    out.set(key, { value: unescape((m[2] ?? '').replace(/\s+$/, '')), source: 'file', origin: `${fileName}:${lineNo}` });
  }
  return out;
}

/** Reads a JSON config: flat `{"node.id": 1}` or nested `{"node": {"id": 1}}`, both allowed. */
export function parseJsonConfig(text: string, fileName: string): Map<string, RawValue> {
  let doc: unknown;
  try {
    doc = JSON.parse(text);
  } catch (err) {
    throw new ConfigError('config', `${fileName}: not valid JSON (${(err as Error).message})`);
  }
  if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
    throw new ConfigError('config', `${fileName}: a JSON config must be an object of key: value`);
  }
  const out = new Map<string, RawValue>();
  const walk = (obj: Record<string, unknown>, prefix: string): void => {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix ? `${prefix}.${k}` : k;
      if (typeof v === 'object' && v !== null && !Array.isArray(v) && !isConfigKey(key)) walk(v as Record<string, unknown>, key);
      else out.set(key, { value: Array.isArray(v) ? v.join(',') : v, source: 'file', origin: fileName });
    }
  };
  walk(doc as Record<string, unknown>, '');
  return out;
}

/** Picks RAFTLINE_* variables; an unknown RAFTLINE_* name is an error (it is almost always a typo). */
export function fromEnvironment(env: Record<string, string | undefined>): Map<string, RawValue> {
  const out = new Map<string, RawValue>();
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('RAFTLINE_') || value === undefined) continue;
    if (name === 'RAFTLINE_CONFIG') continue;
    const key = envToKey.get(name);
    if (!key) throw unknownKey(name.slice('RAFTLINE_'.length).toLowerCase().replace(/_/g, '.'), `environment variable ${name}`);
    out.set(key, { value, source: 'env', origin: `environment variable ${name}` });
  }
  return out;
}

function displayValue(value: unknown): string {
  if (typeof value !== 'string') return String(value);
  return /^[^\s"'\\]+$/.test(value) ? value : JSON.stringify(value);
}

/**
 * Merges the layers (later wins: defaults < file < env < flags), validates every key, derives the defaults that depend
 * on other keys, and checks the keys against each other. Throws ConfigError naming the first problem.
 */
export function resolveConfig(layers: Array<Map<string, RawValue>>): ResolvedConfig {
  const merged = new Map<ConfigKey, RawValue>();
  for (const [key, value] of Object.entries(defaults)) merged.set(key as ConfigKey, { value, source: 'default', origin: 'the default' });
  for (const layer of layers) {
    for (const [key, raw] of layer) {
      if (!isConfigKey(key)) throw unknownKey(key, raw.origin);
      merged.set(key, raw);
    }
  }
  if (!merged.has('node.id')) {
    throw new ConfigError('node.id', 'node.id is required: pass --node-id N (an integer from 1 to ' + nodesMax + '), or set it in the config file or RAFTLINE_NODE_ID');
  }

  // One schema validates the merged result: each key's own schema, then the cross-key rules below.
  const shape: Record<string, z.ZodType> = Object.fromEntries(configKeyNames.map((k) => [k, (keySpecs[k] as KeySpec).schema.optional()]));
  const schema = z.object(shape);
  const input = Object.fromEntries([...merged].map(([k, raw]) => [k, raw.value]));
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const key = String(issue.path[0]) as ConfigKey;
    const raw = merged.get(key)!;
    throw new ConfigError(key, `invalid value for ${key}: ${displayValue(raw.value)} (from ${raw.origin}); allowed: ${(keySpecs[key] as KeySpec).allowed}`);
  }
  const v = parsed.data as Record<string, unknown>;
  const nodeId = v['node.id'] as number;
  const voterList = v['controller.quorum.voters'] as Voter[];
  const nodeRoles = v['process.roles'] as { broker: boolean; controller: boolean };
  const derived = new Map<ConfigKey, string>();

  // A node with no quorum named is the embedded single-node cluster: it is its own sole voter.
  let listenerAddr = v['listeners'] as { host: string; port: number } | undefined;
  const selfVoter = voterList.find((x) => x.id === nodeId);
  if (!listenerAddr) {
    listenerAddr = selfVoter ? { host: selfVoter.host, port: selfVoter.port } : { host: '127.0.0.1', port: 9091 + nodeId };
    derived.set('listeners', `${listenerAddr.host}:${listenerAddr.port}`);
  }
  const effectiveVoters = voterList.length > 0 ? voterList : nodeRoles.controller ? [{ id: nodeId, ...listenerAddr }] : [];
  if (nodeRoles.controller && !selfVoter && voterList.length > 0) {
    throw new ConfigError(
      'controller.quorum.voters',
      `node ${nodeId} has the controller role but is not in controller.quorum.voters (${voterList.map((x) => `${x.id}@${x.host}:${x.port}`).join(',')}); add it, or drop the controller role`,
    );
  }
  if (!nodeRoles.controller && voterList.length === 0) {
    throw new ConfigError('controller.quorum.voters', `node ${nodeId} is broker-only, so it needs controller.quorum.voters (--controller-quorum 1@host:port,...) to find the controllers`);
  }
  if (selfVoter && (selfVoter.port !== listenerAddr.port || (selfVoter.host !== listenerAddr.host && listenerAddr.host !== '0.0.0.0'))) {
    throw new ConfigError(
      'listeners',
      `listeners=${listenerAddr.host}:${listenerAddr.port} differs from this node's voter address ${selfVoter.host}:${selfVoter.port} in controller.quorum.voters; they must be the same endpoint`,
    );
  }
  const dataDir = (v['log.dirs'] as string | undefined) ?? `./data/node-${nodeId}`;
  if (v['log.dirs'] === undefined) derived.set('log.dirs', dataDir);
  const rf = v['default.replication.factor'] as number;
  const minIsr = v['min.insync.replicas'] as number;
  if (minIsr > rf) {
    const raw = merged.get('min.insync.replicas')!;
    throw new ConfigError(
      'min.insync.replicas',
      `invalid value for min.insync.replicas: ${minIsr} (from ${raw.origin}); allowed: at most default.replication.factor (${rf}), or acks=all could never succeed`,
    );
  }
  const electionMs = v['controller.quorum.election.timeout.ms'] as number;
  const sessionMs = v['broker.session.timeout.ms'] as number;
  const heartbeatMs = v['broker.heartbeat.interval.ms'] as number;
  if (heartbeatMs >= sessionMs) {
    throw new ConfigError(
      'broker.heartbeat.interval.ms',
      `broker.heartbeat.interval.ms (${heartbeatMs}) must be less than broker.session.timeout.ms (${sessionMs}), or every broker would be fenced`,
    );
  }

  const config: NodeConfig = {
    nodeId,
    roles: nodeRoles,
    voters: effectiveVoters,
    listener: listenerAddr,
    dataDir,
    logLevel: v['log.level'] as LogLevel,
    clusterId: v['cluster.id'] as string,
    rack: (v['broker.rack'] as string) || undefined,
    numPartitions: v['num.partitions'] as number,
    defaultReplicationFactor: rf,
    minInsyncReplicas: minIsr,
    uncleanLeaderElection: v['unclean.leader.election.enable'] as boolean,
    eligibleLeaderReplicas: v['eligible.leader.replicas.enable'] as boolean,
    replicaLagTimeMaxMs: v['replica.lag.time.max.ms'] as number,
    replicaFetchWaitMaxMs: v['replica.fetch.wait.max.ms'] as number,
    segmentBytes: v['log.segment.bytes'] as number,
    segmentMs: v['log.roll.ms'] as number,
    retentionMs: v['log.retention.ms'] as number,
    retentionBytes: v['log.retention.bytes'] as number,
    flushIntervalMessages: v['log.flush.interval.messages'] as number,
    flushIntervalMs: v['log.flush.interval.ms'] as number,
    messageMaxBytes: v['message.max.bytes'] as number,
    preallocateBytes: v['log.preallocate.bytes'] as number,
    electionTimeoutMs: electionMs,
    fetchTimeoutMs: v['controller.quorum.fetch.timeout.ms'] as number,
    electionBackoffMaxMs: v['controller.quorum.election.backoff.max.ms'] as number,
    heartbeatIntervalMs: heartbeatMs,
    sessionTimeoutMs: sessionMs,
    requestTimeoutMs: v['request.timeout.ms'] as number,
    shutdownTimeoutMs: v['shutdown.timeout.ms'] as number,
    gcIncrementalMarking: v['gc.incremental.marking'] as boolean,
    mallocTrimThresholdBytes: v['malloc.trim.threshold.bytes'] as number,
  };

  const effective = configKeyNames.map((key) => {
    const raw = merged.get(key);
    if (derived.has(key)) return { key, value: derived.get(key)!, source: 'derived' as ConfigSource };
    if (key === 'controller.quorum.voters' && voterList.length === 0 && effectiveVoters.length > 0) {
      return { key, value: effectiveVoters.map((x) => `${x.id}@${x.host}:${x.port}`).join(','), source: 'derived' as ConfigSource };
    }
    return { key, value: raw === undefined ? '' : String(raw.value), source: raw?.source ?? ('default' as ConfigSource) };
  });
  return { config, effective };
}

/** Text for --help: every key with what it allows and its environment variable. */
export function describeKeys(): string {
  return configKeyNames
    .map((k) => {
      const spec = keySpecs[k] as KeySpec;
      const def = defaults[k];
      return `  ${k.padEnd(42)} ${spec.doc}\n  ${''.padEnd(42)} allowed: ${spec.allowed}${def !== undefined && def !== '' ? `; default ${String(def)}` : ''}; env ${envNameOf(k)}`;
    })
    .join('\n');
}
