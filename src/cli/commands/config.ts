import { readFileSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { UsageError } from '../common/options';
import { apiBase, call } from '../common/rest';

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
