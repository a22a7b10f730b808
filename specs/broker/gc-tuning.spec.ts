// The broker process's GC setting (gc.incremental.marking): its config key, and that the entry point's switch really
// changes how V8 collects the old generation (in a child process: V8 flags are process-wide).
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ConfigError, fromEnvironment, resolveConfig } from '../../src/broker/config.js';
import { parseBrokerArgs } from '../../src/broker/args.js';

const run = promisify(execFile);

function resolveArgs(argv: string[], env: Record<string, string> = {}) {
  return resolveConfig([fromEnvironment(env), parseBrokerArgs(argv).flags]);
}

interface ChurnResult {
  majors: number;
  incrementalSteps: number;
  rssMb: number;
}

async function churn(mode: 'on' | 'off'): Promise<ChurnResult> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'specs/fixtures/gc-churn.ts', mode], { timeout: 30_000 });
  return JSON.parse(stdout) as ChurnResult;
}

test('config: gc.incremental.marking is off by default, and the environment or a flag turns it on', (t) => {
  t.false(resolveArgs(['--node-id', '1']).config.gcIncrementalMarking);
  t.true(resolveArgs(['--node-id', '1'], { RAFTLINE_GC_INCREMENTAL_MARKING: 'true' }).config.gcIncrementalMarking);
  t.true(resolveArgs(['--node-id', '1', '--override', 'gc.incremental.marking=true']).config.gcIncrementalMarking);
  const err = t.throws(() => resolveArgs(['--node-id', '1'], { RAFTLINE_GC_INCREMENTAL_MARKING: 'sometimes' }));
  t.true(err instanceof ConfigError && err.message.includes('gc.incremental.marking'));
});

test('broker: with incremental marking off the old generation is still collected, only never incrementally', async (t) => {
  // Both runs grow the long-lived heap until V8 must collect it while large short-lived buffers stream through.
  const [on, off] = await Promise.all([churn('on'), churn('off')]);
  t.true(on.incrementalSteps > 0, `with incremental marking on, V8 marks incrementally (${JSON.stringify(on)})`);
  t.is(off.incrementalSteps, 0, `with it off, no marking cycle is incremental (${JSON.stringify(off)})`);
  t.true(off.majors >= 1, `with it off, the full old generation is still collected (${JSON.stringify(off)})`);
  // 600 MiB of buffers went through; memory stays bounded because scavenges and full GCs still free them.
  t.true(off.rssMb < 400, `resident memory stays bounded (${off.rssMb} MiB)`);
});
