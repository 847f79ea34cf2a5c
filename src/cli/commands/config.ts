import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError } from '../common/options';

const PREFIX = '/api/v1/nerve';

/** A control plane's REST base from a host base (http://host:3000) or the full base; API_PORT by default. */
export function apiBase(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const raw = (given ?? env.NERVE_API ?? `http://127.0.0.1:${env.API_PORT || 3000}`).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s]+/.test(raw))
    throw new UsageError(`--api ${JSON.stringify(raw)}: give a URL such as http://127.0.0.1:3000`);
  return raw.endsWith(PREFIX) ? raw : `${raw}${PREFIX}`;
}

interface ApiError {
  error?: { code?: string; message?: string; details?: string[] };
}

/** Calls the REST API; a refusal becomes an error with the API's own message and details. */
async function call(api: string, method: string, path: string, body?: unknown): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${api.replace(/\/$/, '')}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
  } catch (err) {
    throw new Error(
      `cannot reach the control plane at ${api}: ${(err as Error).message} (set --api or NERVE_API)`,
      { cause: err },
    );
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? (JSON.parse(text) as unknown) : {};
  } catch {
    throw new Error(`${api} answered ${res.status} with no JSON: is it a Nerve control plane?`);
  }
  if (!res.ok) {
    const e = (json as ApiError).error;
    const details = e?.details?.length ? `\n  ${e.details.join('\n  ')}` : '';
    throw new Error(`${res.status} ${e?.code ?? ''}: ${e?.message ?? text}${details}`);
  }
  return json;
}

/**
 * `nerve config export [--out F]`, `nerve config import F [--dry-run]`, `nerve config history [--limit N]`:
 * backup, restore and audit through a control plane's REST API.
 */
export async function configCommand(args: string[]): Promise<void> {
  const { values, positionals } = (() => {
    try {
      return parseArgs({
        args,
        allowPositionals: true,
        options: {
          api: { type: 'string' },
          out: { type: 'string' },
          limit: { type: 'string' },
          'dry-run': { type: 'boolean' },
        },
      });
    } catch (err) {
      throw new UsageError((err as Error).message);
    }
  })();
  const api = apiBase(values.api);
  const [action, file] = positionals;
  if (action === 'export') {
    const doc = JSON.stringify(await call(api, 'GET', '/config/export'), null, 2);
    if (values.out) writeFileSync(values.out, `${doc}\n`);
    else console.log(doc);
  } else if (action === 'import') {
    if (!file) throw new UsageError('nerve config import FILE [--dry-run]: which file?');
    let doc: unknown;
    try {
      doc = JSON.parse(readFileSync(file === '-' ? 0 : file, 'utf8'));
    } catch (err) {
      throw new UsageError(`cannot read ${file} as JSON: ${(err as Error).message}`);
    }
    const dryRun = values['dry-run'] === true;
    const result = (await call(api, 'POST', `/config/import${dryRun ? '?dryRun=true' : ''}`, doc)) as {
      version: number;
      changes: { kind: string; name: string; change: string }[];
    };
    for (const c of result.changes) console.log(`${c.change.padEnd(8)} ${c.kind}/${c.name}`);
    console.log(
      dryRun
        ? `dry run: valid, ${result.changes.length} change(s) would be applied`
        : `imported as version ${result.version} (${result.changes.length} change(s))`,
    );
  } else if (action === 'history') {
    const limit = values.limit ?? '20';
    const { versions } = (await call(api, 'GET', `/config/history?limit=${encodeURIComponent(limit)}`)) as {
      versions: { version: number; at: string; actor: string; summary: string }[];
    };
    for (const v of versions)
      console.log(`${String(v.version).padStart(6)}  ${v.at}  ${v.actor.padEnd(20)}  ${v.summary}`);
  } else {
    throw new UsageError(
      'usage: nerve config export [--out FILE] | import FILE [--dry-run] | history [--limit N] (nerve config --help)',
    );
  }
}
