// Entry point of the `raftline` command. (Foundation in progress.)
console.error('raftline: no commands yet');
process.exit(2);
