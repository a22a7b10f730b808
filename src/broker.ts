// Entry point of `node dist/broker.js`: reads the configuration (file < environment < flags), starts one node, and
// shuts it down cleanly on SIGTERM or SIGINT. A configuration or start-up error prints one line and exits with 2.
import fs from 'node:fs';
import { parseBrokerArgs, brokerUsage } from './broker/args.js';
import { ConfigError, describeKeys, fromEnvironment, parseJsonConfig, parseProperties, resolveConfig, type RawValue } from './broker/config.js';
import { applyGcTuning } from './broker/gc-tuning.js';
import { startNode } from './broker/node.js';
import { createRealRuntime, realClock } from './runtime/real/index.js';
import { tuneMalloc } from './runtime/real/malloc.js';

function fail(message: string): never {
  process.stderr.write(`raftline broker: ${message}\n`);
  process.exit(2);
}

function readConfigFile(file: string): Map<string, RawValue> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError('config', `cannot read config file ${JSON.stringify(file)} (${(err as NodeJS.ErrnoException).code ?? String(err)})`);
  }
  return file.endsWith('.json') || text.trimStart().startsWith('{') ? parseJsonConfig(text, file) : parseProperties(text, file);
}

async function main(): Promise<void> {
  const args = parseBrokerArgs(process.argv.slice(2));
  if (args.help) {
    process.stdout.write(`${brokerUsage}\n\nconfiguration keys:\n${describeKeys()}\n`);
    return;
  }
  const configFile = args.configFile ?? process.env['RAFTLINE_CONFIG'];
  const layers = [...(configFile ? [readConfigFile(configFile)] : []), fromEnvironment(process.env), args.flags];
  const { config, effective } = resolveConfig(layers);
  if (args.printConfig) {
    const width = Math.max(...effective.map((e) => e.key.length));
    for (const e of effective) process.stdout.write(`${e.key.padEnd(width)}  ${e.value.padEnd(24)}  (${e.source})\n`);
    return;
  }

  applyGcTuning({ incrementalMarking: config.gcIncrementalMarking });
  const runtime = createRealRuntime({ nodeId: config.nodeId, dataDir: config.dataDir, logLevel: config.logLevel });
  const log = runtime.log;
  const malloc = tuneMalloc(config.mallocTrimThresholdBytes);
  if (malloc.applied) log.info({ trimThresholdBytes: malloc.trimThresholdBytes, mmapThresholdBytes: malloc.mmapThresholdBytes }, 'malloc thresholds fixed');
  else log.info({ reason: malloc.reason }, 'malloc thresholds left to glibc');
  const node = await startNode(config, runtime);

  let stopping = false;
  const stop = (signal: string): void => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, 'shutting down');
    // A watchdog: a shutdown that hangs must not keep the process alive past shutdown.timeout.ms.
    const deadline = realClock.setTimeout(() => {
      log.error({ timeoutMs: config.shutdownTimeoutMs }, 'clean shutdown took too long; exiting anyway');
      process.exit(1);
    }, config.shutdownTimeoutMs) as { unref?: () => void };
    deadline.unref?.();
    node.close().then(
      () => process.exit(0),
      (err: unknown) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
  // Printed only once the signal handlers are in place: whoever waits for this line may stop the node at once.
  // Start-up cost, as wall time since the process began and as CPU time (the latter does not depend on machine load).
  const startedMs = Math.round(process.uptime() * 1000);
  const cpu = process.cpuUsage();
  const cpuMs = Math.round((cpu.user + cpu.system) / 1000);
  log.info({ startedMs, cpuMs }, 'node ready to serve');
  process.stdout.write(`raftline node ${config.nodeId} listening on ${node.address} (http://${node.address}/readyz); started in ${startedMs} ms, ${cpuMs} ms CPU\n`);
}

main().catch((err: unknown) => {
  if (err instanceof ConfigError) fail(err.message);
  process.stderr.write(`raftline broker: failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});
