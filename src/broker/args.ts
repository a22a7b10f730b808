// Command-line flags of `node dist/broker.js`: each flag is a config key (flags win over the environment and the file).
import { ConfigError, type RawValue } from './config.js';

export interface BrokerArgs {
  configFile: string | undefined;
  flags: Map<string, RawValue>;
  printConfig: boolean;
  help: boolean;
}

/** Flags that name a config key directly. `--override key=value` reaches every other key. */
const flagKeys: Record<string, string> = {
  '--node-id': 'node.id',
  '--controller-quorum': 'controller.quorum.voters',
  '--roles': 'process.roles',
  '--listeners': 'listeners',
  '--listen': 'listeners',
  '--log-dirs': 'log.dirs',
  '--data-dir': 'log.dirs',
  '--log-level': 'log.level',
  '--cluster-id': 'cluster.id',
  '--rack': 'broker.rack',
};

export function parseBrokerArgs(argv: string[]): BrokerArgs {
  const flags = new Map<string, RawValue>();
  let configFile: string | undefined;
  let printConfig = false;
  let help = false;
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.startsWith('--') ? arg.indexOf('=') : -1;
    const name = eq > 0 ? arg.slice(0, eq) : arg;
    const takeValue = (): string => {
      if (eq > 0) return arg.slice(eq + 1);
      const next = argv[i + 1];
      if (next === undefined || (next.startsWith('--') && next.length > 2)) {
        throw new ConfigError(name, `${name} needs a value`);
      }
      i++;
      return next;
    };
    if (name === '--help' || name === '-h') help = true;
    else if (name === '--print-config') printConfig = true;
    else if (name === '--config') configFile = takeValue();
    else if (name === '--override') {
      const pair = takeValue();
      const at = pair.indexOf('=');
      if (at <= 0) throw new ConfigError('--override', `--override takes key=value, got ${JSON.stringify(pair)}`);
      flags.set(pair.slice(0, at).trim(), { value: pair.slice(at + 1), source: 'flag', origin: `--override ${pair.slice(0, at).trim()}` });
    } else if (Object.hasOwn(flagKeys, name)) {
      flags.set(flagKeys[name]!, { value: takeValue(), source: 'flag', origin: name });
    } else {
      throw new ConfigError(name, `unknown flag ${JSON.stringify(arg)}; see --help`);
    }
  }
  return { configFile, flags, printConfig, help };
}

export const brokerUsage = `usage: node dist/broker.js --node-id N [options]

With no other flags a node is a single-node cluster (roles broker,controller, data under ./data/node-N,
listening on 127.0.0.1:(9091+N)).

options:
  --node-id N                   this node's id (node.id)
  --controller-quorum LIST      the controller voters, id@host:port,... (controller.quorum.voters)
  --roles broker,controller     this node's roles (process.roles)
  --listeners HOST:PORT         where to serve WebSocket and HTTP (listeners; a voter defaults to its quorum address)
  --data-dir DIR                where to keep data (log.dirs)
  --log-level LEVEL             trace, debug, info, warn, error, fatal, silent (log.level)
  --config FILE                 a server.properties (key=value) or JSON file; also RAFTLINE_CONFIG
  --override KEY=VALUE          set any key (repeatable)
  --print-config                print the effective configuration with each value's source, and exit
  --help                        this text

Precedence: flags > environment (RAFTLINE_NODE_ID, ...) > config file > defaults.`;
