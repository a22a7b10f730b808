// Entry point of `node dist/sim.js`. (Simulator core in progress.)
console.error('raftline sim: not yet wired');
process.exit(2);
