// Entry point of `node dist/broker.js`. (Foundation in progress: the broker process is wired in src/broker/.)
console.error('raftline broker: not yet wired');
process.exit(2);
