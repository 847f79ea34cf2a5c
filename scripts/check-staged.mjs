#!/usr/bin/env node
/**
 * What the pre-commit hook runs: ESLint and Prettier on the given files (those a commit stages), and the
 * type-check of the project when any of them is TypeScript. Exits 1 naming what failed; prints nothing
 * else when all is well. Files outside what the tools check (gen/, dist/, deleted ones) are skipped.
 *
 * usage: node scripts/check-staged.mjs FILE...
 */
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const files = process.argv
  .slice(2)
  .filter((f) => existsSync(join(root, f)) && !/^(gen|dist|node_modules)\//.test(f));
const lintable = files.filter((f) => /\.(ts|tsx|mjs|js)$/.test(f));
const formattable = files.filter((f) => /\.(ts|tsx|mjs|js|json|md|ya?ml|css|html)$/.test(f));
const bin = (name) => join(root, 'node_modules', '.bin', name);

const failed = [];
const run = (what, command, args) => {
  const r = spawnSync(command, args, { cwd: root, encoding: 'utf8' });
  if (r.status !== 0) {
    failed.push(what);
    process.stderr.write(`${r.stdout}${r.stderr}`);
  }
};
if (lintable.length > 0) run('eslint', bin('eslint'), ['--no-warn-ignored', ...lintable]);
if (formattable.length > 0)
  run('prettier', bin('prettier'), ['--check', '--log-level', 'warn', ...formattable]);
if (files.some((f) => /\.tsx?$/.test(f))) run('type-check', bin('tsc'), ['-p', 'tsconfig.test.json']);
if (failed.length > 0) {
  process.stderr.write(
    `pre-commit: ${failed.join(', ')} failed on the staged files (commit with --no-verify to skip)\n`,
  );
  process.exit(1);
}
