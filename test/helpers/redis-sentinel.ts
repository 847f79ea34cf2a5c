import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Redis from 'ioredis';
import type { HostPort } from '../../src/model/redis-target';
import { freePort } from './ports';
import { waitFor } from './wait';

/** Sentinel's failover-timeout here: it fails the same primary over again only after twice this. */
const FAILOVER_TIMEOUT_MS = 2_000;

const trace = (what: string) => {
  if (process.env.DRILL_TRACE) process.stderr.write(`[sentinel ${new Date().toISOString()}] ${what}\n`);
};

/** True when this machine has redis-server and redis-sentinel (CI installs Debian's). */
export function hasRedisSentinel(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    execFileSync('redis-sentinel', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface SentinelSet {
  /** The primary's name in the Sentinels' configuration. */
  readonly name: string;
  readonly sentinels: readonly HostPort[];
  /** The port of the data node the Sentinels name as primary now. */
  primaryPort(): Promise<number>;
  /** Resolves once every replica holds what the primary holds now (WAIT on the primary). */
  replicated(): Promise<void>;
  /** SIGSTOPs every replica (connected, silent: nothing they confirm); `resumeReplicas` is SIGCONT. */
  pauseReplicas(): Promise<void>;
  resumeReplicas(): Promise<void>;
  /**
   * SIGKILLs the current primary (then calls `onKilled`); resolves once the Sentinels name another (its port), and the old
   * primary is started again, as a supervisor would, and is in sync as the new primary's replica.
   */
  failover(onKilled?: () => void): Promise<number>;
  stop(): Promise<void>;
}

interface Proc {
  child: ChildProcess;
  port: number;
  /** How it was started (a data node is started again the same way after a failover). */
  args: string[];
}

async function launch(command: string, args: string[], port: number, ready: RegExp): Promise<Proc> {
  const child = spawn(command, args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d: Buffer) => {
    out = (out + d.toString()).slice(-8_000);
    if (process.env.DRILL_TRACE === 'all')
      for (const line of d.toString().split('\n'))
        if (
          /[+-](switch|convert|failover|sdown|odown|promoted|slave|elected|selected|config|tilt)/.test(line)
        )
          trace(`${port} ${line.slice(0, 200)}`);
  });
  await waitFor(() => ready.test(out) || child.exitCode !== null, `${command} on ${port} to start`, 10_000);
  if (child.exitCode !== null) throw new Error(`${command} exited: ${out}`);
  return { child, port, args };
}

const kill = async (p: Proc) => {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  const exited = new Promise((r) => p.child.once('exit', r));
  p.child.kill('SIGKILL');
  await exited;
};

/**
 * A primary, `replicas` replicas and `sentinelCount` Sentinels (quorum: a majority) of the test's own on
 * free loopback ports; a primary is judged down after `downAfterMs`. Data nodes keep an append-only file
 * fsynced on every write, as in production.
 */
export async function startSentinelSet(
  options: { replicas?: number; sentinels?: number; downAfterMs?: number } = {},
): Promise<SentinelSet> {
  const name = 'nerve';
  const dir = mkdtempSync(join(tmpdir(), 'nerve-sentinel-'));
  const data: Proc[] = [];
  const sentinels: Proc[] = [];
  const node = async (i: number, replicaOf?: number) => {
    const port = await freePort();
    const own = join(dir, `node-${i}`);
    execFileSync('mkdir', ['-p', own]);
    const args = ['--port', String(port), '--bind', '127.0.0.1', '--dir', own, '--protected-mode', 'no'];
    args.push('--appendonly', 'yes', '--appendfsync', 'always', '--save', '');
    // Redis 7 waits 5 s for more replicas before a diskless full sync: a test's replica would not hold
    // anything for that long.
    args.push('--repl-diskless-sync-delay', '0');
    if (replicaOf !== undefined) args.push('--replicaof', '127.0.0.1', String(replicaOf));
    data.push(await launch('redis-server', args, port, /Ready to accept connections/));
    return port;
  };
  try {
    const primary = await node(0);
    for (let i = 1; i <= (options.replicas ?? 1); i++) await node(i, primary);
    const replicas = options.replicas ?? 1;
    // Every replica in sync before the set is handed over: a failover before then loses everything.
    const probe = new Redis({ port: primary, host: '127.0.0.1', maxRetriesPerRequest: 0 });
    try {
      await waitFor(
        async () => {
          const info = await probe.info('replication');
          return (info.match(/state=online/g) ?? []).length === replicas;
        },
        'the replicas to be in sync',
        15_000,
        50,
      );
    } finally {
      probe.disconnect();
    }
    const count = options.sentinels ?? 3;
    for (let i = 0; i < count; i++) {
      const port = await freePort();
      const conf = join(dir, `sentinel-${i}.conf`);
      writeFileSync(
        conf,
        [
          `port ${port}`,
          'bind 127.0.0.1',
          'protected-mode no',
          `dir ${dir}`,
          `sentinel monitor ${name} 127.0.0.1 ${primary} ${Math.floor(count / 2) + 1}`,
          `sentinel down-after-milliseconds ${name} ${options.downAfterMs ?? 1_000}`,
          `sentinel failover-timeout ${name} ${FAILOVER_TIMEOUT_MS}`,
          `sentinel parallel-syncs ${name} 1`,
          '',
        ].join('\n'),
      );
      sentinels.push(await launch('redis-sentinel', [conf], port, /Sentinel ID is|monitor master/i));
    }
  } catch (err) {
    for (const p of [...sentinels, ...data]) await kill(p);
    rmSync(dir, { recursive: true, force: true });
    throw err;
  }
  /** The primary a majority of the Sentinels name (one that has not heard of a failover yet is outvoted). */
  const ask = async (): Promise<number> => {
    const answers = await Promise.all(
      sentinels.map(async (s) => {
        const c = new Redis({ port: s.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
        try {
          await c.connect();
          const reply = (await c.call('SENTINEL', 'get-master-addr-by-name', name)) as string[] | null;
          return reply ? Number(reply[1]) : undefined;
        } catch {
          return undefined;
        } finally {
          c.disconnect();
        }
      }),
    );
    const votes = new Map<number, number>();
    for (const port of answers) if (port !== undefined) votes.set(port, (votes.get(port) ?? 0) + 1);
    for (const [port, n] of votes) if (n > sentinels.length / 2) return port;
    throw new Error(`the Sentinels do not agree on a primary: ${JSON.stringify(answers)}`);
  };
  let lastFailover = 0;
  /**
   * The primary's port once the set is steady: every Sentinel names it, it says it is the primary, every
   * other node is its replica with the link up, and Sentinel may fail it over (2 × failover-timeout
   * since the last failover).
   */
  const settled = async (): Promise<number | undefined> => {
    if (Date.now() - lastFailover < 2 * FAILOVER_TIMEOUT_MS) return undefined;
    const named = new Set<number>();
    for (const s of sentinels) {
      const c = new Redis({ port: s.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
      try {
        await c.connect();
        const reply = (await c.call('SENTINEL', 'get-master-addr-by-name', name)) as string[] | null;
        if (!reply) return undefined;
        named.add(Number(reply[1]));
      } catch {
        return undefined;
      } finally {
        c.disconnect();
      }
    }
    if (named.size !== 1) return undefined;
    const [primary] = named;
    const seen = await roles();
    const steady = seen.every((r) =>
      r.startsWith(`${primary}:`) ? r === `${primary}:master` : r.endsWith(`:slave->${primary}:connected`),
    );
    return steady ? primary : undefined;
  };
  /** What each data node says it is: `port:master`, `port:slave->primary:state`, `port:down`. */
  const roles = async () =>
    Promise.all(
      data.map(async (d) => {
        const c = new Redis({ port: d.port, host: '127.0.0.1', lazyConnect: true, maxRetriesPerRequest: 0 });
        try {
          await c.connect();
          const role = (await c.call('ROLE')) as unknown[];
          return `${d.port}:${String(role[0])}${role[0] === 'slave' ? `->${String(role[2])}:${String(role[3])}` : ''}`;
        } catch {
          return `${d.port}:down`;
        } finally {
          c.disconnect();
        }
      }),
    );
  let poller: NodeJS.Timeout | undefined;
  if (process.env.DRILL_TRACE === 'all') {
    let last = '';
    const t = (poller = setInterval(() => {
      void roles().then((r) => {
        const now = JSON.stringify(r);
        if (now !== last) trace(`roles: ${now}`);
        last = now;
      });
    }, 100));
    t.unref();
  }
  return {
    name,
    sentinels: sentinels.map((s) => ({ host: '127.0.0.1', port: s.port })),
    primaryPort: ask,
    async pauseReplicas() {
      const primary = await ask();
      for (const d of data) if (d.port !== primary) d.child.kill('SIGSTOP');
    },
    async resumeReplicas() {
      for (const d of data) d.child.kill('SIGCONT');
    },
    async replicated() {
      const c = new Redis({ port: await ask(), host: '127.0.0.1', maxRetriesPerRequest: 0 });
      try {
        const replicas = options.replicas ?? 1;
        const acked = Number(await c.call('WAIT', String(replicas), '10000'));
        if (acked < replicas) throw new Error(`${acked} of ${replicas} replicas in sync after 10 s`);
      } finally {
        c.disconnect();
      }
    },
    async failover(onKilled) {
      // A set still settling from the last failover is not failed over again: Sentinel waits twice its
      // failover-timeout before it tries the same primary again, and a node just brought back may not
      // be in sync yet.
      const before = await waitFor(settled, 'the set to settle before a failover', 60_000, 100);
      trace(`roles before: ${JSON.stringify(await roles())}, Sentinels name ${before}`);
      const primary = data.find((d) => d.port === before);
      if (primary) await kill(primary);
      onKilled?.();
      lastFailover = Date.now();
      trace(`killed ${before}`);
      let after = before;
      await waitFor(
        async () => (after = await ask().catch(() => before)) !== before,
        'the Sentinels to promote a replica',
        30_000,
      );
      trace(`Sentinels name ${after}`);
      if (primary) {
        // As a supervisor with the configuration Sentinel rewrote would start it: a replica of the new
        // primary from its first moment (never a second primary with its old data).
        const args = [...primary.args];
        const at = args.indexOf('--replicaof');
        if (at >= 0) args.splice(at, 3);
        args.push('--replicaof', '127.0.0.1', String(after));
        data[data.indexOf(primary)] = await launch(
          'redis-server',
          args,
          primary.port,
          /Ready to accept connections/,
        );
        await waitFor(settled, 'the old primary to be in sync as a replica', 30_000, 100);
        trace(`${primary.port} in sync as a replica`);
      }
      return after;
    },
    async stop() {
      clearInterval(poller);
      for (const p of [...sentinels, ...data]) await kill(p);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
