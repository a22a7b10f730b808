// Configuration: precedence of the layers, Kafka's key names, and a clear error for every bad value.
import test from 'ava';
import { ConfigError, fromEnvironment, parseJsonConfig, parseProperties, resolveConfig, envNameOf } from '../../src/broker/config.js';
import { parseBrokerArgs } from '../../src/broker/args.js';

function resolveArgs(argv: string[], env: Record<string, string> = {}, file?: Map<string, import('../../src/broker/config.js').RawValue>) {
  const args = parseBrokerArgs(argv);
  return resolveConfig([...(file ? [file] : []), fromEnvironment(env), args.flags]);
}

function errorOf(fn: () => unknown): ConfigError {
  try {
    fn();
  } catch (err) {
    if (err instanceof ConfigError) return err;
    throw err;
  }
  throw new Error('expected a ConfigError');
}

test('config: --node-id 1 alone is the embedded single-node cluster', (t) => {
  const { config } = resolveArgs(['--node-id', '1']);
  t.is(config.nodeId, 1);
  t.deepEqual(config.roles, { broker: true, controller: true });
  t.is(config.dataDir, './data/node-1');
  t.deepEqual(config.listener, { host: '127.0.0.1', port: 9092 });
  t.deepEqual(config.voters, [{ id: 1, host: '127.0.0.1', port: 9092 }]);
});

test('config: flags beat the environment, which beats the file, which beats defaults', (t) => {
  const file = parseProperties('node.id=3\nnum.partitions=4\nmin.insync.replicas=1\nlog.level=warn\n', 'server.properties');
  const { config, effective } = resolveArgs(['--override', 'num.partitions=6'], { RAFTLINE_NUM_PARTITIONS: '5', RAFTLINE_LOG_LEVEL: 'debug' }, file);
  t.is(config.nodeId, 3);
  t.is(config.numPartitions, 6);
  t.is(config.logLevel, 'debug');
  const source = (k: string) => effective.find((e) => e.key === k)?.source;
  t.is(source('num.partitions'), 'flag');
  t.is(source('log.level'), 'env');
  t.is(source('node.id'), 'file');
  t.is(source('replica.lag.time.max.ms'), 'default');
  t.is(source('log.dirs'), 'derived');
});

test('config: a voter gets its listener from controller.quorum.voters', (t) => {
  const { config } = resolveArgs(['--node-id', '2', '--controller-quorum', '1@127.0.0.1:19091,2@127.0.0.1:19092,3@127.0.0.1:19093']);
  t.deepEqual(config.listener, { host: '127.0.0.1', port: 19092 });
  t.is(config.voters.length, 3);
});

test('config: properties files read comments, colons, continuations and escapes', (t) => {
  const m = parseProperties('# a comment\n! another\nnode.id : 7\nbroker.rack=rack\\\n   -a\nlog.dirs=/tmp/a\\u0062\n', 'f.properties');
  t.is(m.get('node.id')?.value, '7');
  t.is(m.get('broker.rack')?.value, 'rack-a');
  t.is(m.get('log.dirs')?.value, '/tmp/ab');
  t.is(m.get('node.id')?.origin, 'f.properties:3');
});

test('config: JSON configs may be flat or nested', (t) => {
  const m = parseJsonConfig('{"node": {"id": 4}, "min.insync.replicas": 1, "unclean.leader.election.enable": true}', 'c.json');
  const { config } = resolveConfig([m]);
  t.is(config.nodeId, 4);
  t.true(config.uncleanLeaderElection);
});

const badValues: Array<[string, string[], Record<string, string>, RegExp]> = [
  ['--node-id 0', ['--node-id', '0'], {}, /node\.id: 0 \(from --node-id\); allowed: an integer from 1 to/],
  ['--node-id abc', ['--node-id', 'abc'], {}, /node\.id: abc \(from --node-id\); allowed: an integer/],
  ['an unknown key', ['--node-id', '1', '--override', 'log.retention.hourz=5'], {}, /unknown configuration key "log\.retention\.hourz" \(from --override/],
  ['an unknown environment key', ['--node-id', '1'], { RAFTLINE_NODE_IDD: '1' }, /unknown configuration key "node\.idd" \(from environment variable RAFTLINE_NODE_IDD\)/],
  ['a wrong type', ['--node-id', '1', '--override', 'unclean.leader.election.enable=yes'], {}, /unclean\.leader\.election\.enable: yes.*allowed: true or false/],
  ['a bad quorum', ['--node-id', '1', '--controller-quorum', '1@localhost'], {}, /controller\.quorum\.voters: 1@localhost.*allowed: a comma-separated list of id@host:port/],
  ['a bad role', ['--node-id', '1', '--roles', 'leader'], {}, /process\.roles: leader.*allowed: broker, controller/],
  ['a controller outside the quorum', ['--node-id', '4', '--controller-quorum', '1@127.0.0.1:1'], {}, /node 4 has the controller role but is not in controller\.quorum\.voters/],
  ['a broker with no quorum', ['--node-id', '4', '--roles', 'broker'], {}, /broker-only, so it needs controller\.quorum\.voters/],
  ['min.insync.replicas above the replication factor', ['--node-id', '1', '--override', 'min.insync.replicas=3'], {}, /min\.insync\.replicas: 3.*at most default\.replication\.factor \(1\)/],
  ['a missing node id', [], {}, /node\.id is required/],
  ['an unknown flag', ['--node-id', '1', '--nodes', '3'], {}, /unknown flag "--nodes"/],
  ['a flag without its value', ['--node-id'], {}, /--node-id needs a value/],
];

for (const [name, argv, env, expected] of badValues) {
  test(`config: ${name} is refused with a message naming it`, (t) => {
    const err = errorOf(() => resolveArgs(argv, env));
    t.regex(err.message, expected);
    t.false(err.message.includes('\n'), 'one line');
  });
}

test('config: every key has a RAFTLINE_ environment name', (t) => {
  t.is(envNameOf('node.id'), 'RAFTLINE_NODE_ID');
  t.is(envNameOf('unclean.leader.election.enable'), 'RAFTLINE_UNCLEAN_LEADER_ELECTION_ENABLE');
});
