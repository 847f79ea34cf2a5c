import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
const TEXT = readFileSync(join(ROOT, 'ARCHITECTURE.md'), 'utf8');

function allFiles(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    if (name === 'node_modules' || name.startsWith('.') || name === 'dist' || name === 'coverage') continue;
    const path = join(dir, name);
    if (statSync(path).isDirectory()) {
      out.push(`${path.slice(ROOT.length + 1)}/`);
      allFiles(path, out);
    } else out.push(path.slice(ROOT.length + 1));
  }
  return out;
}

/** Backticked names that are paths: with a folder and a file ending, or a folder ending in `/`. */
function pathsIn(text: string): string[] {
  const names = [...text.matchAll(/`([^`\s]+)`/g)].map((m) => m[1].replace(/[.,:;)]+$/, ''));
  return [
    ...new Set(names.filter((n) => /^[\w.-]+(\/[\w.-]+)*(\.(ts|mjs|cjs|js|json|ya?ml|sh|md)|\/)$/.test(n))),
  ];
}

/**
 * ARCHITECTURE.md stays true: every path it names exists (a full path from the repository's root, or a
 * path the text shortens, which must name exactly the end of an existing one), and its feature table
 * lists every folder of the control plane.
 */
describe('ARCHITECTURE.md', () => {
  const files = allFiles(ROOT);

  it('names only paths that exist', () => {
    const missing = pathsIn(TEXT).filter(
      (p) => !existsSync(join(ROOT, p)) && !files.some((f) => f.endsWith(`/${p}`)),
    );
    expect(missing).toEqual([]);
  });

  it('lists every folder of the control plane in its feature table', () => {
    const table = TEXT.slice(TEXT.indexOf('### Feature → folder'));
    const folders = readdirSync(join(ROOT, 'src/control-plane')).filter((n) =>
      statSync(join(ROOT, 'src/control-plane', n)).isDirectory(),
    );
    expect(folders.filter((f) => !table.includes(`\`src/control-plane/${f}/\``))).toEqual([]);
  });
});

/**
 * Benchmarks load the built router by path strings (`dist/...js`), which no compiler checks: a file
 * moved in src/ must not leave a benchmark pointing at nothing.
 */
describe('benchmarks', () => {
  it('load only built files whose sources exist', () => {
    const benches = allFiles(join(ROOT, 'bench')).filter((f) => /\.(ts|mjs)$/.test(f));
    const missing: string[] = [];
    for (const file of benches) {
      const text = readFileSync(join(ROOT, file), 'utf8');
      for (const m of text.matchAll(/['"`](?:\.\.\/\.\.\/dist\/)?((?:src|gen)\/[\w./-]+)\.js['"`]/g))
        if (!existsSync(join(ROOT, `${m[1]}.ts`))) missing.push(`${file}: ${m[1]}.js`);
    }
    expect(missing).toEqual([]);
  });
});
