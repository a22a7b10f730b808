// The format of specs/testdata/raft-*.txt: unindented lines are commands, lines indented by two spaces are the output
// the command before them must produce, `#` lines are comments. `render` writes a file back with fresh output.
export function expectedOutput(file: string): string[] {
  const out: string[] = [];
  for (const raw of file.split('\n')) {
    if (raw.trim() === '' || raw.startsWith('#')) continue;
    out.push(raw.startsWith('  ') ? raw.trimEnd() : `> ${raw.trim()}`);
  }
  return out;
}

/** The file with each command's output replaced by `actual` (comments and blank lines kept). */
export function render(file: string, actual: string[]): string {
  const byCommand: string[][] = [];
  for (const line of actual) {
    if (line.startsWith('> ')) byCommand.push([]);
    else byCommand.at(-1)?.push(line);
  }
  const lines: string[] = [];
  let index = 0;
  for (const raw of file.split('\n')) {
    if (raw.startsWith('  ')) continue;
    lines.push(raw);
    if (raw.trim() !== '' && !raw.startsWith('#')) lines.push(...(byCommand[index++] ?? []));
  }
  return lines.join('\n');
}
