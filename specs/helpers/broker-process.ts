// Starts real broker processes (node dist/broker.js) for specs, on 127.0.0.1 with port 0 and a temporary data dir,
// and always stops them by PID (SIGTERM, then SIGKILL after a bound) when the test ends.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import type { ExecutionContext } from 'ava';

export const brokerEntry = path.resolve('dist/broker.js');

export interface BrokerProcess {
  child: ChildProcess;
  address: string;
  dataDir: string;
  stdout: string[];
  stderr: string[];
  /** Resolves with the exit code (or the signal name) when the process ends. */
  exited: Promise<number | string>;
}

export function tempDir(prefix: string): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), `raftline-${prefix}-`));
}

export interface RunResult {
  code: number | string;
  stdout: string;
  stderr: string;
}

/** Runs the broker to completion (for flags that exit at once: errors, --help, --print-config). */
export function runBroker(args: string[], options: { env?: Record<string, string>; timeoutMs?: number } = {}): Promise<RunResult> {
  return runToExit(brokerEntry, `broker ${args.join(' ')}`, args, {
    env: { PATH: process.env['PATH'] ?? '', ...options.env },
    timeoutMs: options.timeoutMs ?? 10_000,
  });
}

/** Runs `node entry args` to its exit, killing it (SIGKILL) after `timeoutMs`; resolves with its exit code and output. */
function runToExit(entry: string, label: string, args: string[], options: { env?: NodeJS.ProcessEnv; stdin?: string; timeoutMs: number }): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [entry, ...args], { env: options.env ?? process.env, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${label} did not exit within ${options.timeoutMs} ms; stderr: ${stderr}`));
    }, options.timeoutMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? signal ?? 'unknown', stdout, stderr });
    });
    child.stdin.end(options.stdin ?? '');
  });
}

/** Starts a broker and waits until it prints its address. Registers a teardown that stops it by PID. */
export async function startBroker(
  t: ExecutionContext,
  args: string[],
  options: { env?: Record<string, string>; dataDir?: string; startTimeoutMs?: number } = {},
): Promise<BrokerProcess> {
  const dataDir = options.dataDir ?? tempDir('broker');
  const fullArgs = [...args];
  if (!fullArgs.includes('--data-dir')) fullArgs.push('--data-dir', dataDir);
  if (!fullArgs.includes('--listeners') && !fullArgs.includes('--controller-quorum')) fullArgs.push('--listeners', '127.0.0.1:0');
  if (!fullArgs.includes('--log-level')) fullArgs.push('--log-level', 'warn');
  const child = spawn(process.execPath, [brokerEntry, ...fullArgs], {
    env: { PATH: process.env['PATH'] ?? '', ...options.env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const stdout: string[] = [];
  const stderr: string[] = [];
  const exited = new Promise<number | string>((resolve) => child.on('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
  t.teardown(async () => {
    if (child.exitCode === null && child.signalCode === null) {
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5_000);
      await exited;
      clearTimeout(timer);
    }
    fs.rmSync(dataDir, { recursive: true, force: true });
  });
  const address = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`broker did not start within ${options.startTimeoutMs ?? 15_000} ms; stderr: ${stderr.join('')}`)), options.startTimeoutMs ?? 15_000);
    let buffered = '';
    child.stdout!.on('data', (d: Buffer) => {
      const text = d.toString();
      stdout.push(text);
      buffered += text;
      const m = /listening on (\S+:\d+)/.exec(buffered);
      if (m) {
        clearTimeout(timer);
        resolve(m[1]!);
      }
    });
    child.stderr!.on('data', (d: Buffer) => stderr.push(d.toString()));
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`broker exited with ${code} before it started; stderr: ${stderr.join('')}`));
    });
  });
  return { child, address, dataDir, stdout, stderr, exited };
}

/** Polls an HTTP endpoint of a node until it answers `status` or the time is up. */
export async function waitForStatus(url: string, status: number, timeoutMs = 15_000): Promise<{ status: number; body: string }> {
  const start = Date.now();
  let last: { status: number; body: string } | undefined;
  while (Date.now() - start < timeoutMs) {
    try {
      const res = await fetch(url);
      last = { status: res.status, body: await res.text() };
      if (res.status === status) return last;
    } catch {
      // Not listening yet.
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`${url} did not answer ${status} within ${timeoutMs} ms (last: ${JSON.stringify(last)})`);
}

/** Ports free on 127.0.0.1 right now (bound, read, released), for clusters whose voters must be named up front. */
export async function freePorts(count: number): Promise<number[]> {
  const servers = await Promise.all(
    Array.from({ length: count }, () => new Promise<net.Server>((resolve) => {
      const server = net.createServer();
      server.listen(0, '127.0.0.1', () => resolve(server));
    })),
  );
  const ports = servers.map((s) => (s.address() as net.AddressInfo).port);
  await Promise.all(servers.map((s) => new Promise((resolve) => s.close(resolve))));
  return ports;
}

export type CliResult = RunResult;

/** Runs `dist/cli.js` with `args` (and `stdin`), killing it after 20 s; resolves with its exit code and output. */
export function runCli(args: string[], stdin = ''): Promise<CliResult> {
  return runToExit(path.resolve('dist/cli.js'), `raftline ${args.join(' ')}`, args, { stdin, timeoutMs: 20_000 });
}
