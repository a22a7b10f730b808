// The broker process: starts fast with the embedded default, becomes ready, serves its HTTP endpoints, stops cleanly
// on SIGTERM, and refuses bad configuration with exit status 2 and one line that names the problem.
import test from 'ava';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { runBroker, startBroker, tempDir, waitForStatus } from '../helpers/broker-process.js';

test.serial('broker: starts, reaches /readyz, and exits 0 on SIGTERM', async (t) => {
  const broker = await startBroker(t, ['--node-id', '1']);
  const ready = await waitForStatus(`http://${broker.address}/readyz`, 200);
  // The bound is on the CPU the start-up took, which other specs running beside this one cannot inflate; the wall
  // time is logged (about 0.25 s on an idle 2-core machine).
  const [, wallMs, cpuMs] = /started in (\d+) ms, (\d+) ms CPU/.exec(broker.stdout.join('')) ?? [];
  t.log(`start-up: ${wallMs} ms wall, ${cpuMs} ms CPU`);
  t.true(Number(cpuMs) < 2_000, `start-up took ${cpuMs} ms of CPU`);
  t.like(JSON.parse(ready.body), { node: 1, ready: true });
  t.is((await waitForStatus(`http://${broker.address}/livez`, 200)).body.trim(), 'ok node 1');
  const metrics = await waitForStatus(`http://${broker.address}/metrics`, 200);
  t.regex(metrics.body, /raftline_http_requests_total\{path="\/readyz",status="200",node_id="1"\}/);
  t.regex(metrics.body, /raftline_connections/);
  t.is((await fetch(`http://${broker.address}/nope`)).status, 404);
  t.is((await fetch(`http://${broker.address}/livez`, { method: 'POST' })).status, 405);
  const stopAt = Date.now();
  broker.child.kill('SIGTERM');
  t.is(await broker.exited, 0);
  t.true(Date.now() - stopAt < 5_000);
  t.false(fs.existsSync(path.join(broker.dataDir, '.lock')), 'the data dir lock is released');
});

test.serial('broker: SIGINT also shuts down cleanly', async (t) => {
  const broker = await startBroker(t, ['--node-id', '2']);
  await waitForStatus(`http://${broker.address}/readyz`, 200);
  broker.child.kill('SIGINT');
  t.is(await broker.exited, 0);
});

test.serial('broker: --print-config shows each value with its source', async (t) => {
  const res = await runBroker(['--node-id', '5', '--override', 'num.partitions=3', '--print-config'], { env: { RAFTLINE_LOG_LEVEL: 'debug' } });
  t.is(res.code, 0);
  t.regex(res.stdout, /^node\.id\s+5\s+\(flag\)$/m);
  t.regex(res.stdout, /^num\.partitions\s+3\s+\(flag\)$/m);
  t.regex(res.stdout, /^log\.level\s+debug\s+\(env\)$/m);
  t.regex(res.stdout, /^log\.dirs\s+\.\/data\/node-5\s+\(derived\)$/m);
  t.regex(res.stdout, /^min\.insync\.replicas\s+1\s+\(default\)$/m);
});

test.serial('broker: a config file in server.properties form is read', async (t) => {
  const dir = tempDir('cfg');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'server.properties');
  fs.writeFileSync(file, 'node.id=7\nnum.partitions=12\n');
  const res = await runBroker(['--config', file, '--print-config']);
  t.is(res.code, 0);
  t.regex(res.stdout, /^num\.partitions\s+12\s+\(file\)$/m);
});

const exit2: Array<[string, string[], RegExp]> = [
  ['--node-id 0', ['--node-id', '0'], /node\.id: 0 \(from --node-id\); allowed: an integer from 1/],
  ['--node-id abc', ['--node-id', 'abc'], /node\.id: abc \(from --node-id\); allowed: an integer/],
  ['an unknown key', ['--node-id', '1', '--override', 'no.such.key=1'], /unknown configuration key "no\.such\.key"/],
  ['a wrong type', ['--node-id', '1', '--override', 'num.partitions=many'], /num\.partitions: many .*allowed: an integer/],
  ['a missing config file', ['--node-id', '1', '--config', '/nonexistent/server.properties'], /cannot read config file "\/nonexistent\/server\.properties" \(ENOENT\)/],
];

for (const [name, args, expected] of exit2) {
  test.serial(`broker: ${name} exits 2 and says what was wrong`, async (t) => {
    const res = await runBroker(args);
    t.is(res.code, 2);
    t.regex(res.stderr, expected);
    t.is(res.stderr.trim().split('\n').length, 1, res.stderr);
  });
}

test.serial('broker: a port already in use exits 2 naming the address', async (t) => {
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
  t.teardown(() => blocker.close());
  const port = (blocker.address() as net.AddressInfo).port;
  const dir = tempDir('inuse');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const res = await runBroker(['--node-id', '1', '--listeners', `127.0.0.1:${port}`, '--data-dir', dir]);
  t.is(res.code, 2);
  t.regex(res.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port} \\(listeners\\): the address is already in use`));
});

test.serial('broker: an unwritable data dir exits 2 naming it', async (t) => {
  const dir = tempDir('unwritable');
  t.teardown(() => fs.rmSync(dir, { recursive: true, force: true }));
  const file = path.join(dir, 'a-file');
  fs.writeFileSync(file, 'not a directory');
  const res = await runBroker(['--node-id', '1', '--listeners', '127.0.0.1:0', '--data-dir', path.join(file, 'data')]);
  t.is(res.code, 2);
  t.regex(res.stderr, /log\.dirs=".*a-file\/data" is not a writable directory \(ENOTDIR/);
});

test.serial('broker: a data dir held by a live node is refused', async (t) => {
  const first = await startBroker(t, ['--node-id', '1']);
  const res = await runBroker(['--node-id', '1', '--listeners', '127.0.0.1:0', '--data-dir', first.dataDir]);
  t.is(res.code, 2);
  t.regex(res.stderr, /is in use by another process \(pid \d+\)/);
});

test.serial('broker: a data dir of another node is refused', async (t) => {
  const first = await startBroker(t, ['--node-id', '1']);
  first.child.kill('SIGTERM');
  t.is(await first.exited, 0);
  const res = await runBroker(['--node-id', '2', '--listeners', '127.0.0.1:0', '--data-dir', first.dataDir]);
  t.is(res.code, 2);
  t.regex(res.stderr, /belongs to node 1 of cluster raftline, not node 2/);
});
