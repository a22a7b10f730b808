// Developer tool: runs a scenario file and prints its output; with --rewrite, stores that output as the expectation.
// Review the diff before committing a rewritten file: the expectation is a specification, not a snapshot.
import { readFileSync, writeFileSync } from 'node:fs';
import { runScript } from './harness.js';
import { render } from './scenario-file.js';

const [path, flag] = process.argv.slice(2);
if (path === undefined) throw new Error('usage: tsx specs/raft/run-script.ts <file> [--rewrite]');
const file = readFileSync(path, 'utf8');
const out = await runScript(file);
if (flag === '--rewrite') writeFileSync(path, render(file, out));
else console.log(out.join('\n'));
