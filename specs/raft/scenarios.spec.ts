// etcd-style interaction tests: each specs/testdata/raft-*.txt script drives a simulated cluster and must print
// exactly the expected trace, line by line (regenerate with `npx tsx specs/raft/run-script.ts <file> --rewrite`).
import test from 'ava';
import { readdirSync, readFileSync } from 'node:fs';
import { runScript } from './harness.js';
import { expectedOutput } from './scenario-file.js';

const dir = 'specs/testdata';
const files = readdirSync(dir).filter((f) => f.startsWith('raft-') && f.endsWith('.txt')).sort();

for (const name of files) {
  test(`raft scenario: ${name}`, async (t) => {
    const file = readFileSync(`${dir}/${name}`, 'utf8');
    const actual = await runScript(file);
    const expected = expectedOutput(file);
    for (let i = 0; i < Math.max(actual.length, expected.length); i++) {
      if (actual[i] !== expected[i]) {
        t.fail(`line ${i + 1} differs\n  expected: ${expected[i] ?? '(end)'}\n  actual:   ${actual[i] ?? '(end)'}`);
        return;
      }
    }
    t.pass();
  });
}

test('raft scenario: the same script gives the same trace twice (determinism)', async (t) => {
  const file = readFileSync(`${dir}/raft-election.txt`, 'utf8');
  t.deepEqual(await runScript(file), await runScript(file));
});
