// Bundles the three entry points into dist/ (dist/broker.js, dist/sim.js, dist/cli.js) with esbuild. Packages in
// node_modules stay external: they are installed by `npm ci`, and native helpers (bufferutil, cbor-extract) load
// as usual. Type checking is `tsc --noEmit` (make typecheck); esbuild only strips types.
import { build } from 'esbuild';
import { existsSync, mkdirSync } from 'node:fs';

// `node scripts/build.mjs --bench NAME` bundles bench/NAME.ts into dist/bench-NAME.js instead, the same way as the
// entry points: a benchmark then measures the code as it ships. Run through tsx, every function expression is
// wrapped in a name-keeping helper (an Object.defineProperty per closure created), which our bundles do not have.
const benchIndex = process.argv.indexOf('--bench');
const entries =
  benchIndex >= 0
    ? { [`bench-${process.argv[benchIndex + 1]}`]: `bench/${process.argv[benchIndex + 1]}.ts` }
    : {
        broker: 'src/broker.ts',
        cli: 'src/cli/main.ts',
        sim: 'sim/cli.ts',
        'sim-worker': 'sim/worker.ts',
      };

mkdirSync('dist', { recursive: true });
const entryPoints = {};
for (const [name, file] of Object.entries(entries)) {
  if (existsSync(file)) entryPoints[name] = file;
  else if (name !== 'sim-worker') throw new Error(`build: missing entry point ${file}`);
}

await build({
  entryPoints,
  outdir: 'dist',
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  packages: 'external',
  sourcemap: 'linked',
  banner: { js: '#!/usr/bin/env node' },
  logLevel: 'warning',
});
