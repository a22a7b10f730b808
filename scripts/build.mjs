// Bundles the three entry points into dist/ (dist/broker.js, dist/sim.js, dist/cli.js) with esbuild. Packages in
// node_modules stay external: they are installed by `npm ci`, and native helpers (bufferutil, cbor-extract) load
// as usual. Type checking is `tsc --noEmit` (make typecheck); esbuild only strips types.
import { build } from 'esbuild';
import { existsSync, mkdirSync } from 'node:fs';

const entries = {
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
