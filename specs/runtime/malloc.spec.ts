// malloc.trim.threshold.bytes: the broker fixes glibc's thresholds so freed read buffers are reused rather than given
// back and faulted in again. The config key, the function's refusals, and (in child processes: mallopt is
// process-wide) that the fixed thresholds really cut the page faults of a read-buffer churn.
import test from 'ava';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { ConfigError, fromEnvironment, resolveConfig } from '../../src/broker/config.js';
import { parseBrokerArgs } from '../../src/broker/args.js';
import { libcFunction } from '../../src/runtime/real/libc.js';
import { tuneMalloc } from '../../src/runtime/real/malloc.js';
import { mallocTrimThresholdBytesDefault } from '../../src/limits.js';

const run = promisify(execFile);
const mallopt = libcFunction<unknown>('int mallopt(int param, int value)');
const reachable = mallopt !== undefined ? test : test.skip;

function resolveArgs(argv: string[], env: Record<string, string> = {}) {
  return resolveConfig([fromEnvironment(env), parseBrokerArgs(argv).flags]);
}

async function churn(mode: 'fixed' | 'adaptive'): Promise<{ applied: boolean; faults: number }> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', 'specs/fixtures/malloc-churn.ts', mode], { timeout: 60_000 });
  return JSON.parse(stdout) as { applied: boolean; faults: number };
}

test('config: malloc.trim.threshold.bytes defaults to 128 MiB; 0 leaves glibc alone; a bad value is refused by name', (t) => {
  t.is(resolveArgs(['--node-id', '1']).config.mallocTrimThresholdBytes, mallocTrimThresholdBytesDefault);
  t.is(mallocTrimThresholdBytesDefault, 128 * 1024 * 1024);
  t.is(resolveArgs(['--node-id', '1'], { RAFTLINE_MALLOC_TRIM_THRESHOLD_BYTES: '0' }).config.mallocTrimThresholdBytes, 0);
  t.is(resolveArgs(['--node-id', '1', '--override', 'malloc.trim.threshold.bytes=1048576']).config.mallocTrimThresholdBytes, 1048576);
  for (const bad of ['-1', 'lots', '4294967296']) {
    const err = t.throws(() => resolveArgs(['--node-id', '1', '--override', `malloc.trim.threshold.bytes=${bad}`]));
    t.true(err instanceof ConfigError && err.message.includes('malloc.trim.threshold.bytes'), String(err));
  }
});

test('tuneMalloc: 0 and out-of-range values change nothing and say why', (t) => {
  const off = tuneMalloc(0);
  t.false(off.applied);
  t.regex(off.applied ? '' : off.reason, /off/);
  for (const bad of [-1, 1.5, 2 ** 31, Number.NaN]) {
    const r = tuneMalloc(bad);
    t.false(r.applied, String(bad));
    t.regex(r.applied ? '' : r.reason, /not a byte count/);
  }
});

reachable('malloc: fixed thresholds keep freed read buffers for reuse instead of faulting them in again', async (t) => {
  const [fixed, adaptive] = await Promise.all([churn('fixed'), churn('adaptive')]);
  t.true(fixed.applied, 'the thresholds were fixed');
  t.false(adaptive.applied);
  // 2560 MiB of buffers go through each process, 655360 pages. glibc's adaptive trim gives the free top of the heap
  // back after V8 frees a scavenge's worth of buffers, so tens of thousands of pages are faulted in again; with the
  // thresholds fixed the heap stays and only stray pages fault.
  t.log(`minor faults over 2560 MiB of 1 MiB buffers: fixed ${fixed.faults}, adaptive ${adaptive.faults}`);
  t.true(fixed.faults * 3 < adaptive.faults, `fixed ${fixed.faults} against adaptive ${adaptive.faults}`);
});
