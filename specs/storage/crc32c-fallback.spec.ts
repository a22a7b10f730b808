// CRC32C's choice of implementation: aws-crt's native binding where it loads, @node-rs/crc32 where it does not, the
// portable code where neither does, and the same checksums from each. Each case runs in a child process whose module
// loader refuses the blocked packages, as a platform without their prebuilt binaries would.
import test from 'ava';
import { execFile } from 'node:child_process';
import { promises as fs } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const crcModule = fileURLToPath(new URL('../../src/storage/crc32c.ts', import.meta.url));

// Preloaded with --require: makes every require of a blocked package (or of a file inside it) throw.
const blocker = `const Module = require('node:module');
const load = Module._load;
const blocked = (process.env.CRC_BLOCK || '').split(',').filter(Boolean);
Module._load = function (request, ...rest) {
  if (blocked.some((b) => request.includes(b))) throw new Error('blocked ' + request);
  return load.call(this, request, ...rest);
};
`;

// The child prints which implementation serves, the natives that loaded, and checksums of a few inputs.
const probe = `const m = await import(${JSON.stringify(crcModule)});
const big = Buffer.alloc(300000);
for (let i = 0; i < big.length; i++) big[i] = (i * 2654435761) >>> 24;
console.log(JSON.stringify({
  serving: m.crc32cImplementation,
  natives: m.nativeCrc32cImplementations.map((i) => i.name),
  check: m.crc32c(Buffer.from('123456789')),
  big: m.crc32c(big),
  seeded: m.crc32c(big, 0x12345678, 7, 200007),
}));`;

interface Probe {
  serving: string;
  natives: string[];
  check: number;
  big: number;
  seeded: number;
}

async function probeWith(dir: string, block: string): Promise<Probe> {
  const { stdout } = await run(process.execPath, ['--require', join(dir, 'block.cjs'), '--import', 'tsx', '--input-type=module', '-e', probe], {
    env: { ...process.env, CRC_BLOCK: block },
    timeout: 60_000,
  });
  return JSON.parse(stdout.trim().split('\n').at(-1)!) as Probe;
}

test('crc32c: aws-crt serves where it loads, @node-rs/crc32 where it does not, the portable code where neither does, with equal checksums', async (t) => {
  const dir = await fs.mkdtemp(join(tmpdir(), 'raftline-crc-fallback-'));
  try {
    await fs.writeFile(join(dir, 'block.cjs'), blocker);
    const [all, noAws, none] = await Promise.all([probeWith(dir, ''), probeWith(dir, 'aws-crt'), probeWith(dir, 'aws-crt,@node-rs/crc32')]);
    t.log(`here: ${all.serving} (natives loaded: ${all.natives.join(', ') || 'none'})`);
    t.is(noAws.serving, noAws.natives[0] ?? 'portable');
    t.false(noAws.natives.includes('aws-crt'));
    t.is(none.serving, 'portable');
    t.deepEqual(none.natives, []);
    if (all.natives.includes('@node-rs/crc32')) t.is(noAws.serving, '@node-rs/crc32');
    for (const p of [all, noAws, none]) {
      t.is(p.check, 0xe3069283, `${p.serving}: the check value of "123456789"`);
      t.is(p.big, none.big, `${p.serving}: the same CRC of 300000 bytes as the portable code`);
      t.is(p.seeded, none.seeded, `${p.serving}: the same seeded CRC of a slice as the portable code`);
    }
  } finally {
    await fs.rm(dir, { recursive: true, force: true });
  }
});
