#!/usr/bin/env node
/**
 * npm's prepare step (npm ci, npm install): points git at the project's hooks (.githooks/pre-commit).
 * Outside a git work tree (a package install, an unpacked tarball) it does nothing.
 */
import { spawnSync } from 'node:child_process';

const inside = spawnSync('git', ['rev-parse', '--is-inside-work-tree'], { encoding: 'utf8' });
if (inside.status === 0 && inside.stdout.trim() === 'true') {
  const current = spawnSync('git', ['config', '--get', 'core.hooksPath'], { encoding: 'utf8' }).stdout.trim();
  if (current !== '.githooks')
    spawnSync('git', ['config', 'core.hooksPath', '.githooks'], { stdio: 'inherit' });
}
