import { readFileSync } from 'node:fs';
import { callMessages, INVOKE } from '../../load/call-messages';
import { LoadRunner } from '../../load/load-runner';
import { jsonReport, textReport } from '../../load/report';
import { flagNames } from '../common/flags';
import { intFlag, parseFlags, UsageError } from '../common/options';

/** `10s`, `500ms`, `2m` or plain milliseconds. */
function duration(raw: string | undefined): number {
  if (raw === undefined) return 10_000;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(raw);
  if (!m) throw new UsageError(`--duration ${JSON.stringify(raw)}: give 500ms, 10s, 2m or milliseconds`);
  const n = Number(m[1]) * (m[2] === 's' ? 1000 : m[2] === 'm' ? 60_000 : 1);
  if (n < 100 || n > 86_400_000) throw new UsageError('--duration must be from 100ms to 24h');
  return Math.round(n);
}

export async function loadCommand(args: string[]): Promise<void> {
  const flags = parseFlags(args, flagNames('load'), ['json']);
  const target = typeof flags.target === 'string' ? flags.target : undefined;
  const colon = target?.lastIndexOf(':') ?? -1;
  if (!target || colon < 1) throw new UsageError('--target host:port is required (a router or an engine)');
  const port = Number(target.slice(colon + 1));
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new UsageError(`--target ${target}: bad port`);
  const method = typeof flags.method === 'string' ? flags.method : INVOKE;
  if (!/^\/[\w.]+\/\w+$/.test(method))
    throw new UsageError(`--method ${method}: give /package.Service/Method`);
  const operation = typeof flags.operation === 'string' ? flags.operation : 'echo';
  const payloads =
    typeof flags['payload-file'] === 'string'
      ? readPayloads(flags['payload-file'])
      : [typeof flags.payload === 'string' ? flags.payload : ''];
  const maxErrorRate = rate(flags['max-error-rate']);
  if (payloads.length === 0) throw new UsageError('--payload-file has no payload (one per line)');
  const messages = callMessages(method, operation, payloads);
  const metadata = (typeof flags.metadata === 'string' ? flags.metadata.split(',') : [])
    .filter(Boolean)
    .map((kv) => {
      const eq = kv.indexOf('=');
      if (eq < 1) throw new UsageError(`--metadata ${kv}: give key=value[,key=value…]`);
      return [kv.slice(0, eq).trim().toLowerCase(), kv.slice(eq + 1).trim()] as const;
    });
  const rps = flags.rps === undefined ? undefined : intFlag(flags, 'rps', 0, 1, 10_000_000);
  const concurrency =
    flags.concurrency === undefined ? undefined : intFlag(flags, 'concurrency', 0, 1, 100_000);
  if (rps !== undefined && concurrency !== undefined)
    throw new UsageError('give --rps (open loop) or --concurrency (closed loop), not both');
  const runner = new LoadRunner({
    host: target.slice(0, colon).replace(/^\[(.*)\]$/, '$1'),
    port,
    engine: typeof flags.engine === 'string' ? flags.engine : '',
    method,
    messages,
    metadata,
    rps,
    concurrency: rps === undefined ? (concurrency ?? 10) : undefined,
    durationMs: duration(typeof flags.duration === 'string' ? flags.duration : undefined),
    connections: intFlag(flags, 'connections', 1, 1, 1_000),
    timeoutMs: intFlag(flags, 'timeout-ms', 10_000, 1, 3_600_000),
  });
  const live = process.stderr.isTTY && flags.json !== true;
  const result = await runner.run(
    live
      ? (p) =>
          process.stderr.write(
            `\r${(p.elapsedMs / 1000).toFixed(0)} s  ${Math.round(p.done / (p.elapsedMs / 1000))} calls/s  errors ${p.errors}  p99 ${p.p99Ms.toFixed(2)} ms   `,
          )
      : undefined,
  );
  if (live) process.stderr.write('\n');
  const mode =
    rps !== undefined ? `open loop at ${rps} calls/s` : `closed loop, ${concurrency ?? 10} in flight`;
  console.log(flags.json === true ? JSON.stringify(jsonReport(result)) : textReport(result, mode));
  const failed = result.requests - result.ok;
  const errorRate = result.requests === 0 ? 1 : failed / result.requests;
  if (errorRate > maxErrorRate) {
    const codes = [...result.errors].map(([code, n]) => `${code} ×${n}`).join(', ');
    console.error(
      result.requests === 0
        ? 'nerve load: no call was made'
        : `nerve load: ${failed} of ${result.requests} calls failed (${(errorRate * 100).toFixed(2)} %, above --max-error-rate ${maxErrorRate}): ${codes}`,
    );
    process.exitCode = 1;
  }
}

/** --max-error-rate: a share from 0 to 1 (default 0: any failed call fails the run). */
function rate(raw: string | boolean | undefined): number {
  if (raw === undefined) return 0;
  const n = Number(raw);
  if (typeof raw !== 'string' || !/^\d*\.?\d+$/.test(raw) || n < 0 || n > 1)
    throw new UsageError(`--max-error-rate ${JSON.stringify(raw)}: give a share from 0 to 1 (0.01 is 1 %)`);
  return n;
}

function readPayloads(file: string): string[] {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(
      `--payload-file ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`,
    );
  }
  return text.split('\n').filter((l) => l !== '');
}
