// Claims a node's data directory at start-up: creates it, proves it is writable, refuses one that another live
// process holds (a pid lock, like Kafka's .lock) or that belongs to another node or cluster (meta.properties).
// Runs once before anything else touches the directory, so plain synchronous node:fs is right here.
import fs from 'node:fs';
import path from 'node:path';
import { ConfigError } from './config.js';

export interface DataDirClaim {
  dir: string;
  release(): void;
}

function describeErrno(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  return e.code ? `${e.code}: ${e.message.replace(/^[A-Z]+: /, '')}` : String(err);
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export function claimDataDir(dir: string, identity: { nodeId: number; clusterId: string }): DataDirClaim {
  const abs = path.resolve(dir);
  try {
    fs.mkdirSync(abs, { recursive: true });
    const probe = path.join(abs, `.write-probe-${process.pid}`);
    fs.writeFileSync(probe, 'ok');
    fs.rmSync(probe);
  } catch (err) {
    throw new ConfigError('log.dirs', `log.dirs=${JSON.stringify(dir)} is not a writable directory (${describeErrno(err)}); choose a directory this user can write`);
  }

  const lockPath = path.join(abs, '.lock');
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      fs.writeFileSync(lockPath, `${process.pid}\n`, { flag: 'wx' });
      break;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST' || attempt > 0) {
        throw new ConfigError('log.dirs', `cannot lock log.dirs=${JSON.stringify(dir)} (${describeErrno(err)})`);
      }
      const holder = Number(fs.readFileSync(lockPath, 'utf8').trim());
      if (Number.isInteger(holder) && holder > 0 && holder !== process.pid && pidAlive(holder)) {
        throw new ConfigError('log.dirs', `log.dirs=${JSON.stringify(dir)} is in use by another process (pid ${holder}); each node needs its own directory`);
      }
      fs.rmSync(lockPath, { force: true });
    }
  }

  const metaPath = path.join(abs, 'meta.properties');
  if (fs.existsSync(metaPath)) {
    const meta = Object.fromEntries(
      fs
        .readFileSync(metaPath, 'utf8')
        .split('\n')
        .filter((l) => l.includes('=') && !l.startsWith('#'))
        .map((l) => [l.slice(0, l.indexOf('=')).trim(), l.slice(l.indexOf('=') + 1).trim()]),
    );
    if (meta['node.id'] !== String(identity.nodeId) || meta['cluster.id'] !== identity.clusterId) {
      fs.rmSync(lockPath, { force: true });
      throw new ConfigError(
        'log.dirs',
        `log.dirs=${JSON.stringify(dir)} belongs to node ${meta['node.id'] ?? '?'} of cluster ${meta['cluster.id'] ?? '?'}, not node ${identity.nodeId} of cluster ${identity.clusterId}; use another directory`,
      );
    }
  } else {
    const tmp = `${metaPath}.tmp`;
    fs.writeFileSync(tmp, `# written by raftline; do not edit\nversion=1\nnode.id=${identity.nodeId}\ncluster.id=${identity.clusterId}\n`);
    const fd = fs.openSync(tmp, 'r');
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, metaPath);
  }

  return {
    dir: abs,
    release() {
      try {
        if (fs.readFileSync(lockPath, 'utf8').trim() === String(process.pid)) fs.rmSync(lockPath);
      } catch {
        // The lock is already gone; nothing to release.
      }
    },
  };
}
