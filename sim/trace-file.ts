// Trace files: a header line (seed and schedule, so the run can be replayed), one line per event, and a footer
// with the trace hash. Writing is buffered and uses a descriptor opened before the run seals the file system.
import { closeSync, openSync, readFileSync, writeSync } from 'node:fs';
import type { Schedule } from './schedule.js';

export interface TraceHeader {
  ev: 'trace.header';
  format: 1;
  seed: number;
  schedule: Schedule;
  /** 'bytes' when the run was a wire check (absent: in-process frames); a replay uses the same. */
  wire?: 'bytes';
}

export interface TraceFooter {
  ev: 'trace.end';
  hash: string;
  events: number;
  ok: boolean;
}

export class TraceFileWriter {
  private readonly fd: number;
  private buffer: string[] = [];
  private bufferedChars = 0;

  constructor(path: string, header: TraceHeader) {
    this.fd = openSync(path, 'w');
    writeSync(this.fd, `${JSON.stringify(header)}\n`);
  }

  /** The trace sink: lines are flushed every ~1 MiB. */
  readonly sink = (line: string): void => {
    this.buffer.push(line);
    this.bufferedChars += line.length + 1;
    if (this.bufferedChars > 1 << 20) this.flush();
  };

  finish(footer: TraceFooter): void {
    this.flush();
    writeSync(this.fd, `${JSON.stringify(footer)}\n`);
    closeSync(this.fd);
  }

  private flush(): void {
    if (this.buffer.length === 0) return;
    writeSync(this.fd, `${this.buffer.join('\n')}\n`);
    this.buffer = [];
    this.bufferedChars = 0;
  }
}

export interface TraceFileContents {
  header: TraceHeader;
  lines: string[];
  footer: TraceFooter | undefined;
}

export function readTraceFile(path: string): TraceFileContents {
  const all = readFileSync(path, 'utf8').split('\n').filter((l) => l.length > 0);
  const first = all[0];
  if (first === undefined) throw new Error(`${path}: empty trace file`);
  const header = JSON.parse(first) as TraceHeader;
  if (header.ev !== 'trace.header' || header.format !== 1) throw new Error(`${path}: not a Raftline trace (no trace.header line)`);
  const lastLine = all[all.length - 1]!;
  const last = JSON.parse(lastLine) as { ev?: string };
  const footer = last.ev === 'trace.end' ? (last as TraceFooter) : undefined;
  return { header, lines: all.slice(1, footer === undefined ? all.length : all.length - 1), footer };
}
