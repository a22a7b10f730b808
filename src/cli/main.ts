// Entry point of the `raftline` command (dist/cli.js). Exit status: 0 done; 1 the cluster answered with an error
// (printed as `raftline: CODE: message`); 2 the command line itself was wrong (printed with what was expected).
import { formatFlagHelp, parseCommandArgs, UsageError } from './args.js';
import { commonFlags, createContext, type CliCommand } from './command.js';
import { nodeCommands } from './commands/node.js';
import { clusterCommands } from './commands/cluster.js';
import { topicCommands } from './commands/topic.js';
import { dataCommands } from './commands/data.js';
import { RaftlineError } from '../wire/errors.js';

const commands: CliCommand[] = [...nodeCommands, ...clusterCommands, ...topicCommands, ...dataCommands];

function usage(): string {
  const lines = commands.map((c) => `  raftline ${c.path.join(' ').padEnd(24)} ${c.summary}`);
  return `usage: raftline COMMAND [flags]\n\ncommands:\n${lines.join('\n')}\n\nflags every command takes:\n${formatFlagHelp(commonFlags)}\n\nraftline COMMAND --help shows a command's own flags.`;
}

function findCommand(words: string[]): CliCommand | undefined {
  return commands.find((c) => c.path.every((w, i) => words[i] === w));
}

async function main(argv: string[]): Promise<number> {
  if (argv.length === 0 || argv[0] === '--help' || argv[0] === '-h' || argv[0] === 'help') {
    process.stdout.write(`${usage()}\n`);
    return argv.length === 0 ? 2 : 0;
  }
  const command = findCommand(argv);
  if (!command) {
    const words = argv.filter((a) => !a.startsWith('-')).slice(0, 2).join(' ');
    throw new UsageError(`unknown command ${JSON.stringify(words)}; run raftline --help for the list`);
  }
  const rest = argv.slice(command.path.length);
  if (rest.includes('--help') || rest.includes('-h')) {
    process.stdout.write(`usage: raftline ${command.path.join(' ')} [flags]\n${command.summary}\n\n${formatFlagHelp({ ...command.flags, ...commonFlags })}\n`);
    return 0;
  }
  const args = parseCommandArgs(rest, { ...command.flags, ...commonFlags });
  const { ctx, close } = createContext(args, (text) => process.stdout.write(text));
  try {
    await command.run(ctx);
    return 0;
  } finally {
    close();
  }
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof UsageError) {
      process.stderr.write(`raftline: ${err.message}\n`);
      process.exitCode = 2;
    } else if (err instanceof RaftlineError) {
      process.stderr.write(`raftline: ${err.code}: ${err.message}\n`);
      process.exitCode = 1;
    } else {
      process.stderr.write(`raftline: unexpected failure: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    }
  },
);
