import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');
// Built from parts so that this file does not cite what it looks for.
const OUTSIDE = new RegExp(['DESIGN', '(\\.md|\\s*§)|\\.\\./', 'shared'].join(''));

describe('the repository stands alone', () => {
  it('cites no document outside it: every file git tracks says what users rely on itself', () => {
    const files = execFileSync('git', ['ls-files'], { cwd: ROOT, encoding: 'utf8' })
      .split('\n')
      .filter((f) => f && !/\.(png|ico|woff2?)$/.test(f) && !f.startsWith('gen/'));
    const citing = files.filter((f) => {
      try {
        return OUTSIDE.test(readFileSync(join(ROOT, f), 'utf8'));
      } catch {
        return false; // listed but not in this checkout (deleted, not yet committed)
      }
    });
    expect(citing).toEqual([]);
  });
});
