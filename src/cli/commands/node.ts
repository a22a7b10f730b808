// `raftline node ping|api-versions`: reach one node and ask it who it is and what it serves.
import type { CliCommand } from '../command.js';

export const nodeCommands: CliCommand[] = [
  {
    path: ['node', 'ping'],
    summary: 'round-trip a payload to a node and print the latency',
    flags: {
      count: { value: true, help: 'how many pings (default 3)' },
      size: { value: true, help: 'payload bytes (default 64)' },
    },
    async run(ctx) {
      const count = ctx.int('count', 1, 10_000) ?? 3;
      const size = ctx.int('size', 0, 8 * 1024 * 1024) ?? 64;
      const session = ctx.session();
      const payload = new Uint8Array(size).fill(0x5a);
      const samples: number[] = [];
      for (let i = 0; i < count; i++) {
        const start = ctx.clock.monotonicMs();
        const res = await session.rpc.request('node.ping', { payload });
        if (res.payload.byteLength !== size) throw new Error(`ping: echoed ${res.payload.byteLength} bytes, sent ${size}`);
        samples.push(ctx.clock.monotonicMs() - start);
      }
      const sorted = [...samples].sort((a, b) => a - b);
      const result = {
        bootstrap: session.bootstrap,
        count,
        bytes: size,
        minMs: sorted[0]!,
        p50Ms: sorted[Math.floor((sorted.length - 1) / 2)]!,
        maxMs: sorted[sorted.length - 1]!,
      };
      ctx.output(result, () =>
        `pinged ${result.bootstrap} ${count}× with ${size} bytes: min ${result.minMs.toFixed(3)} ms, p50 ${result.p50Ms.toFixed(3)} ms, max ${result.maxMs.toFixed(3)} ms`,
      );
    },
  },
  {
    path: ['node', 'api-versions'],
    summary: 'list the apis a node serves',
    flags: {},
    async run(ctx) {
      const session = ctx.session();
      const res = await session.rpc.request('node.api-versions', {});
      ctx.output(res, () => `node ${res.nodeId} at ${session.bootstrap} (wire v${res.wireVersions.join(',')}) serves:\n${res.apis.map((a) => `  ${a}`).join('\n')}`);
    },
  },
];
