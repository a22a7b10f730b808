// Summarises V8 .cpuprofile files (node --cpu-prof): the top functions by self time and by total time, and self time
// per module (our src/ files, each npm package, node internals, GC, idle), in % of the profile's wall time. Frames of
// an esbuild bundle (dist/*.js) are mapped back to src/ through the bundle's linked source map.
//
//   node --import tsx bench/cpuprofile-top.ts [--top 20] FILE.cpuprofile...
import fs from 'node:fs';
import { SourceMap } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

interface CallFrame {
  functionName: string;
  url: string;
  lineNumber: number;
  columnNumber: number;
}
interface ProfileNode {
  id: number;
  callFrame: CallFrame;
  children?: number[];
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples: number[];
  timeDeltas: number[];
}

const args = process.argv.slice(2);
const topAt = args.indexOf('--top');
const top = topAt >= 0 ? Number(args[topAt + 1]) : 20;
const files = args.filter((a, i) => !a.startsWith('--') && (topAt < 0 || i !== topAt + 1));
if (files.length === 0) {
  process.stderr.write('usage: node --import tsx bench/cpuprofile-top.ts [--top 20] FILE.cpuprofile...\n');
  process.exit(2);
}

const maps = new Map<string, SourceMap | null>();
function sourceMapFor(url: string): SourceMap | null {
  if (maps.has(url)) return maps.get(url)!;
  let map: SourceMap | null = null;
  try {
    const file = url.startsWith('file://') ? fileURLToPath(url) : url;
    if (file.endsWith('.js') && fs.existsSync(`${file}.map`)) map = new SourceMap(JSON.parse(fs.readFileSync(`${file}.map`, 'utf8')));
  } catch {
    map = null;
  }
  maps.set(url, map);
  return map;
}

/** Where a frame comes from, as "file:line" with bundle frames mapped to their source file. */
function location(frame: CallFrame): { file: string; line: number } {
  const map = frame.url === '' ? null : sourceMapFor(frame.url);
  if (map !== null) {
    const entry = map.findEntry(frame.lineNumber, frame.columnNumber) as { originalSource?: string; originalLine?: number };
    if (entry.originalSource !== undefined) return { file: entry.originalSource, line: (entry.originalLine ?? 0) + 1 };
  }
  return { file: frame.url, line: frame.lineNumber + 1 };
}

/** A short module label: src/x/y.ts, an npm package name, node:internal, or a V8 pseudo-frame such as (garbage collector). */
function moduleOf(file: string, name: string): string {
  if (file === '') return name.startsWith('(') ? name : '(native)';
  const nm = file.lastIndexOf('node_modules/');
  if (nm >= 0) {
    const rest = file.slice(nm + 'node_modules/'.length).split('/');
    return rest[0]!.startsWith('@') ? `${rest[0]}/${rest[1]}` : rest[0]!;
  }
  if (file.startsWith('node:')) return 'node:internal';
  const src = file.indexOf('/src/');
  if (src >= 0) return file.slice(src + 1);
  const bench = file.indexOf('/bench/');
  if (bench >= 0) return file.slice(bench + 1);
  return path.basename(file);
}

function summarise(file: string): void {
  const profile = JSON.parse(fs.readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  const parent = new Map<number, number>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const keyOf = new Map<number, string>();
  const moduleOfNode = new Map<number, string>();
  for (const n of profile.nodes) {
    const where = location(n.callFrame);
    const name = n.callFrame.functionName || '(anonymous)';
    keyOf.set(n.id, `${name} ${moduleOf(where.file, name)}:${where.line}`);
    moduleOfNode.set(n.id, moduleOf(where.file, name));
  }
  const self = new Map<string, number>();
  const total = new Map<string, number>();
  const modules = new Map<string, number>();
  let wallUs = 0;
  let idleUs = 0;
  profile.samples.forEach((id, i) => {
    const dt = profile.timeDeltas[i] ?? 0;
    wallUs += dt;
    const key = keyOf.get(id)!;
    if (key.startsWith('(idle)')) idleUs += dt;
    self.set(key, (self.get(key) ?? 0) + dt);
    modules.set(moduleOfNode.get(id)!, (modules.get(moduleOfNode.get(id)!) ?? 0) + dt);
    // Total: every function on the stack once, however often it recurses.
    const seen = new Set<string>();
    for (let at: number | undefined = id; at !== undefined; at = parent.get(at)) {
      const k = keyOf.get(at)!;
      if (seen.has(k)) continue;
      seen.add(k);
      total.set(k, (total.get(k) ?? 0) + dt);
    }
  });
  const busyUs = wallUs - idleUs;
  const pct = (us: number): string => `${((us / wallUs) * 100).toFixed(1).padStart(5)} %`;
  const busyPct = (us: number): string => `${((us / busyUs) * 100).toFixed(1).padStart(5)} %`;
  const rows = (m: Map<string, number>, n: number, skipRoot: boolean): string[] =>
    [...m]
      .filter(([k]) => !skipRoot || !k.startsWith('(root)'))
      .sort((a, b) => b[1] - a[1])
      .slice(0, n)
      .map(([k, us]) => `  ${pct(us)} ${k.startsWith('(idle)') ? '      -' : busyPct(us)} busy  ${(us / 1000).toFixed(0).padStart(7)} ms  ${k}`);
  const out = [
    `== ${file}`,
    `wall ${(wallUs / 1e6).toFixed(2)} s, busy (not idle) ${(busyUs / 1e6).toFixed(2)} s = ${((busyUs / wallUs) * 100).toFixed(1)} %`,
    `-- self time by module (of wall, of busy)`,
    ...rows(modules, top, false),
    `-- top ${top} functions by self time`,
    ...rows(self, top, false),
    `-- top ${top} functions by total time (inclusive)`,
    ...rows(total, top, true),
  ];
  process.stdout.write(out.join('\n') + '\n\n');
}

for (const f of files) summarise(f);
