// The liveness phase starts from a reliable network: healing lifts per-link faults too, not only the defaults.
import test from 'ava';
import { defaultDiskFactory } from '../../sim/runtime/default-disk.js';
import { parseSchedule } from '../../sim/schedule.js';
import { Simulation } from '../../sim/simulation.js';
import { pingPongSystem } from '../../sim/systems/ping-pong.js';

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
