// `npm start` on a fresh clone, or after a `git pull`: builds dist/ when it is missing or older than
// the sources it is made from, so the two Quickstart commands (`npm ci`, `npm start`) are the whole
// set-up. A build that is current costs a directory walk (a few ms).
import { spawnSync } from 'node:child_process';
import { readdirSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');

/** The newest modification time under `dir` (0 when it does not exist). */
function newest(dir) {
  let latest = 0;
  let entries;
  try {
    entries = readdirSync(dir, { withFileTypes: true });
  } catch {
    return 0;
  }
  for (const e of entries) {
    const path = join(dir, e.name);
    latest = Math.max(latest, e.isDirectory() ? newest(path) : statSync(path).mtimeMs);
  }
  return latest;
}

function mtime(path) {
  try {
    return statSync(path).mtimeMs;
  } catch {
    return 0;
  }
}

const built = Math.min(mtime(join(root, 'dist/src/cli/main.js')), mtime(join(root, 'dist/dashboard/app.js')));
const sources = Math.max(
  newest(join(root, 'src')),
  newest(join(root, 'gen')),
  mtime(join(root, 'tsconfig.json')),
);
if (built === 0 || built < sources) {
  console.error(built === 0 ? 'building dist/ (first start)…' : 'building dist/ (the sources changed)…');
  const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
  const r = spawnSync(npm, ['run', '--silent', 'build'], { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) {
    console.error('the build failed (above); nothing was started');
    process.exit(r.status ?? 1);
  }
}
