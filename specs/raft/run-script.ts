import { readFileSync } from 'node:fs';
import { runScript } from './harness.js';
const out = await runScript(readFileSync(process.argv[2]!, 'utf8'));
console.log(out.join('\n'));
