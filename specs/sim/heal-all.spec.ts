// The liveness phase starts from a reliable network: healing lifts per-link faults too, and a connection to a peer
// that crashed while cut off is reset at the next frame, as TCP would, instead of staying half-open.
import test from 'ava';
import { defaultDiskFactory } from '../../sim/runtime/default-disk.js';
import { parseSchedule } from '../../sim/schedule.js';
import { Simulation } from '../../sim/simulation.js';
import { pingPongSystem } from '../../sim/systems/ping-pong.js';
import type { SimSystem } from '../../sim/system.js';

test.serial('sim: healAll takes loss, duplication and reordering off links a "link" fault made lossy', async (t) => {
  const schedule = parseSchedule({
    version: 1,
    system: 'ping-pong',
    cluster: { nodes: [{ id: 1 }, { id: 2 }] },
    network: { latencyMinMs: 1, latencyMaxMs: 5 },
    faults: [{ at: 10, kind: 'link', from: [1], to: [2], model: { loss: 0.5, duplicate: 0.2, reorder: 0.3, latencyMaxMs: 9 } }],
    phases: { safetyMs: 100, livenessMs: 100 },
  });
  const sim = new Simulation({ seed: 1, schedule, system: pingPongSystem, createDisk: defaultDiskFactory });
  await sim.sealed(async () => {
    sim.start();
    await sim.runUntil(50);
    t.is(sim.network.modelOf('n1', 'n2').loss, 0.5);
    sim.healAll();
  });
  const model = sim.network.modelOf('n1', 'n2');
  t.deepEqual([model.loss, model.duplicate, model.reorder], [0, 0, 0]);
  t.is(model.latencyMaxMs, 9, 'a latency override is not a fault and stays');
});

test.serial('sim: a sender that missed a peer crash inside a partition gets a reset at its next frame after healing', async (t) => {
  let closedAtMs: number | null = null;
  let closeDetail = '';
  const system: SimSystem = {
    name: 'reset-probe',
    createNode(ctx) {
      return {
        async start() {
          await ctx.runtime.network.listen({ host: ctx.host, port: 7 }, (conn) => conn.setHandlers({}));
          if (ctx.nodeId !== 1 || ctx.incarnation !== 0) return;
          const conn = ctx.runtime.network.connect(`${ctx.hostOf(2)}:7`, {
            onClose: (reason) => {
              closedAtMs = ctx.runtime.clock.monotonicMs();
              closeDetail = reason.detail;
            },
          });
          const tick = (): void => {
            conn.send(Uint8Array.of(1));
            if (conn.isOpen || closedAtMs === null) ctx.runtime.clock.setTimeout(tick, 100);
          };
          ctx.runtime.clock.setTimeout(tick, 100);
        },
        stop() {},
      };
    },
  };
  const schedule = parseSchedule({
    version: 1,
    system: 'reset-probe',
    cluster: { nodes: [{ id: 1 }, { id: 2 }] },
    network: { latencyMinMs: 1, latencyMaxMs: 5 },
    faults: [
      { at: 200, kind: 'partition', from: [1], to: [2] },
      { at: 300, kind: 'crash', node: 2 },
      { at: 400, kind: 'heal' },
    ],
    phases: { safetyMs: 5_000, livenessMs: 100 },
  });
  const sim = new Simulation({ seed: 1, schedule, system, createDisk: defaultDiskFactory });
  await sim.sealed(async () => {
    sim.start();
    await sim.runUntil(3_000);
  });
  t.is(closeDetail, 'connection reset');
  t.true(closedAtMs !== null && closedAtMs < 1_000, `closed at ${String(closedAtMs)} ms, not by the 10 s liveness timeout`);
});
