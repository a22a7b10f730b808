// `raftline topic alter-config` and `topic describe-config` against a real single-node cluster: overrides set, shown
// with their source, deleted back to the default; every bad request a named error with exit status 1 (a bad command
// line exits 2). Then the same node's clean-shutdown marker (KIP-966) across a SIGTERM and a kill -9.
import test from 'ava';
import fs from 'node:fs';
import path from 'node:path';
import { cleanShutdownFile } from '../../src/broker/clean-shutdown.js';
import { runCli, startBroker, waitForStatus } from '../helpers/broker-process.js';

interface DescribedConfigs {
  name: string;
  configs: Array<{ name: string; value: string; source: string }>;
}

test('cli: topic alter-config sets and deletes overrides that describe-config shows with their source; bad keys and values are named errors', async (t) => {
  t.timeout(90_000);
  const broker = await startBroker(t, ['--node-id', '1']);
  await waitForStatus(`http://${broker.address}/readyz`, 200);
  const at = ['--bootstrap', broker.address];
  t.is((await runCli(['topic', 'create', 'orders', ...at])).code, 0);

  const describe = async (): Promise<Map<string, { value: string; source: string }>> => {
    const res = await runCli(['topic', 'describe-config', 'orders', '--format', 'json', ...at]);
    t.is(res.code, 0, res.stderr);
    const parsed = JSON.parse(res.stdout) as DescribedConfigs;
    return new Map(parsed.configs.map((c) => [c.name, { value: c.value, source: c.source }]));
  };
  const before = await describe();
  t.like(before.get('retention.ms'), { source: 'static' }, 'the node\'s log.retention.ms before any override');
  t.like(before.get('cleanup.policy'), { value: 'delete', source: 'default' });

  const altered = await runCli(['topic', 'alter-config', 'orders', '--set', 'retention.ms=60000', '--set', 'cleanup.policy=compact', ...at]);
  t.is(altered.code, 0, altered.stderr);
  t.regex(altered.stdout, /altered configs of topic orders: retention\.ms=60000, cleanup\.policy=compact/);
  const after = await describe();
  t.deepEqual(after.get('retention.ms'), { value: '60000', source: 'topic' });
  t.deepEqual(after.get('cleanup.policy'), { value: 'compact', source: 'topic' });
  const text = await runCli(['topic', 'describe-config', 'orders', '--overrides-only', ...at]);
  t.is(text.code, 0, text.stderr);
  t.regex(text.stdout, /retention\.ms\s+60000\s+\(topic\)/);
  t.notRegex(text.stdout, /segment\.bytes/, '--overrides-only shows only the topic\'s own keys');

  const dryRun = await runCli(['topic', 'alter-config', 'orders', '--set', 'retention.ms=5', '--validate-only', ...at]);
  t.is(dryRun.code, 0, dryRun.stderr);
  t.regex(dryRun.stdout, /would alter/);
  t.is((await describe()).get('retention.ms')?.value, '60000', 'validate-only changes nothing');

  const deleted = await runCli(['topic', 'alter-config', 'orders', '--delete', 'retention.ms', ...at]);
  t.is(deleted.code, 0, deleted.stderr);
  t.deepEqual((await describe()).get('retention.ms'), before.get('retention.ms'), 'back to the node\'s value');
  t.is((await describe()).get('cleanup.policy')?.value, 'compact', 'the other override stays');

  const errors: Array<[string[], RegExp]> = [
    [['topic', 'alter-config', 'orders', '--set', 'retention.msx=1'], /^raftline: INVALID_CONFIG: unknown topic config "retention\.msx"/],
    [['topic', 'alter-config', 'orders', '--set', 'retention.ms=soon'], /^raftline: INVALID_CONFIG: invalid value "soon" for config retention\.ms: expected an integer/],
    [['topic', 'alter-config', 'orders', '--set', 'min.insync.replicas=0'], /^raftline: INVALID_CONFIG: .*min\.insync\.replicas/],
    [['topic', 'alter-config', 'orders', '--delete', 'no.such.key'], /^raftline: INVALID_CONFIG: unknown topic config "no\.such\.key"/],
    [['topic', 'alter-config', 'nope', '--set', 'retention.ms=1'], /^raftline: UNKNOWN_TOPIC_OR_PARTITION: .*nope/],
    [['topic', 'describe-config', 'nope'], /^raftline: UNKNOWN_TOPIC_OR_PARTITION: .*nope/],
  ];
  // Refusals change nothing, so they may run side by side (each is a process start).
  const refused = await Promise.all(errors.map(([args]) => runCli([...args, ...at])));
  errors.forEach(([args, expected], i) => {
    t.is(refused[i]!.code, 1, args.join(' '));
    t.regex(refused[i]!.stderr, expected, args.join(' '));
  });
  const usage: Array<[string[], RegExp]> = [
    [['topic', 'alter-config', 'orders'], /at least one --set key=value or --delete key/],
    [['topic', 'alter-config', 'orders', '--set', 'retention.ms'], /--set takes key=value/],
    [['topic', 'alter-config', 'orders', '--set', 'retention.ms=1', '--delete', 'retention.ms'], /both set and deleted/],
    [['topic', 'alter-config', 'orders', '--set', 'retention.ms=1', '--set', 'retention.ms=2'], /gives retention\.ms twice/],
  ];
  const misused = await Promise.all(usage.map(([args]) => runCli([...args, ...at])));
  usage.forEach(([args, expected], i) => {
    t.is(misused[i]!.code, 2, args.join(' '));
    t.regex(misused[i]!.stderr, expected, args.join(' '));
  });
  t.is((await describe()).get('retention.ms')?.value, before.get('retention.ms')?.value, 'no refused change was applied');
});

test('broker process: SIGTERM leaves a clean-shutdown marker that the next start takes; after kill -9 there is none', async (t) => {
  t.timeout(90_000);
  const first = await startBroker(t, ['--node-id', '1', '--log-level', 'info']);
  await waitForStatus(`http://${first.address}/readyz`, 200);
  first.child.kill('SIGTERM');
  t.is(await first.exited, 0);
  const marker = path.join(first.dataDir, cleanShutdownFile);
  const recorded = JSON.parse(fs.readFileSync(marker, 'utf8')) as { version: number; brokerEpoch: number };
  t.is(recorded.version, 0);
  t.true(recorded.brokerEpoch >= 0);

  const second = await startBroker(t, ['--node-id', '1', '--log-level', 'info'], { dataDir: first.dataDir });
  await waitForStatus(`http://${second.address}/readyz`, 200);
  t.false(fs.existsSync(marker), 'taken at start');
  const registered = second.stdout.join('').split('\n').find((l) => l.includes('broker lifecycle: registered'));
  t.truthy(registered, 'the registration is logged');
  t.like(JSON.parse(registered ?? '{}'), { previousBrokerEpoch: recorded.brokerEpoch }, 'registered with the epoch of the clean stop');

  second.child.kill('SIGKILL');
  await second.exited;
  t.false(fs.existsSync(marker), 'a killed broker leaves no marker');
  const third = await startBroker(t, ['--node-id', '1', '--log-level', 'info'], { dataDir: first.dataDir });
  await waitForStatus(`http://${third.address}/readyz`, 200);
  const again = third.stdout.join('').split('\n').find((l) => l.includes('broker lifecycle: registered'));
  t.like(JSON.parse(again ?? '{}'), { previousBrokerEpoch: -1 }, 'after kill -9: unclean');
});
