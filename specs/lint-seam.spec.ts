// The determinism seam is enforced by lint: these specs prove the rule fires on offending code under src/ and
// stays quiet in src/runtime/real/, where the real clock and timers are allowed.
import test from 'ava';
import { ESLint } from 'eslint';

const eslint = new ESLint({ cwd: process.cwd() });

async function seamViolations(code: string, filePath: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return (result?.messages ?? [])
    .filter((m) => m.message.includes('runtime seam') || m.message.includes('sim/'))
    .map((m) => m.message);
}

const offenders: Array<[string, string]> = [
  ['Date.now', 'export const t = Date.now();'],
  ['new Date()', 'export const t = new Date();'],
  ['Math.random', 'export const r = Math.random();'],
  ['setTimeout', 'setTimeout(() => {}, 10);'],
  ['setInterval', 'setInterval(() => {}, 10);'],
  ['setImmediate', 'setImmediate(() => {});'],
  ['globalThis.setTimeout', 'globalThis.setTimeout(() => {}, 1);'],
  ['performance.now', 'export const t = performance.now();'],
  ['process.hrtime', 'export const t = process.hrtime.bigint();'],
  ['crypto.randomBytes', "import crypto from 'node:crypto';\nexport const b = crypto.randomBytes(4);"],
  ['crypto.randomUUID', "import crypto from 'node:crypto';\nexport const b = crypto.randomUUID();"],
  ['a named crypto import', "import { randomBytes } from 'node:crypto';\nexport const b = randomBytes(4);"],
  ['node:timers import', "import { setTimeout as st } from 'node:timers';\nst(() => {}, 1);"],
  ['import from sim/', "import { x } from '../../sim/runtime/clock.js';\nexport const y = x;"],
];

for (const [name, code] of offenders) {
  test(`lint: the seam rule fires on ${name} under src/`, async (t) => {
    const found = await seamViolations(code, 'src/storage/offender.ts');
    t.true(found.length > 0, `expected a seam violation for ${name}`);
  });
}

test('lint: the seam rule allows the real clock inside src/runtime/real/', async (t) => {
  const found = await seamViolations('export const t = Date.now();\nsetTimeout(() => {}, 1);', 'src/runtime/real/clock.ts');
  t.deepEqual(found, []);
});

test('lint: new Date(ms) of a given time is not a clock read', async (t) => {
  const found = await seamViolations('export const d = new Date(0);', 'src/storage/ok.ts');
  t.deepEqual(found, []);
});
