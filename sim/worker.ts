// Worker-thread entry of `explore` (bundled to dist/sim-worker.js): runs the seeds it is sent, one at a time, and
// posts each result back. Each worker is its own isolate, so runs in different workers never share the seal.
import { parentPort } from 'node:worker_threads';
import { exploreSeed, type ExploreRequest } from './explore.js';

if (parentPort === null) throw new Error('sim-worker: must run as a worker thread');
const port = parentPort;
port.on('message', (request: ExploreRequest) => {
  exploreSeed(request).then(
    (outcome) => port.postMessage(outcome),
    (error: unknown) => port.postMessage({ seed: request.seed, error: error instanceof Error ? error.stack ?? error.message : String(error) }),
  );
});
