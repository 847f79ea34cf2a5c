import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const ROOT = join(__dirname, '..', '..');

/** A throwaway work tree of this repository at HEAD, with its hooks and node_modules, removed afterwards. */
function worktree(): { dir: string; remove(): void } {
  const dir = join(mkdtempSync(join(tmpdir(), 'nerve-hook-')), 'tree');
  execFileSync('git', ['worktree', 'add', '--detach', dir, 'HEAD'], { cwd: ROOT, stdio: 'ignore' });
  symlinkSync(join(ROOT, 'node_modules'), join(dir, 'node_modules'));
  return {
    dir,
    remove: () => {
      execFileSync('git', ['worktree', 'remove', '--force', dir], { cwd: ROOT, stdio: 'ignore' });
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

describe('the pre-commit hook (.githooks/pre-commit, installed by npm ci)', () => {
  it('is installed by the prepare script', () => {
    execFileSync(process.execPath, [join(ROOT, 'scripts', 'install-hooks.mjs')], { cwd: ROOT });
    expect(
      execFileSync('git', ['config', '--get', 'core.hooksPath'], { cwd: ROOT, encoding: 'utf8' }).trim(),
    ).toBe('.githooks');
  });

  it('refuses a commit whose staged files fail lint or formatting, naming the tool; lets a clean one through', () => {
    const tree = worktree();
    const git = (...args: string[]) =>
      spawnSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@example.com', ...args], {
        cwd: tree.dir,
        encoding: 'utf8',
      });
    try {
      writeFileSync(join(tree.dir, 'scripts', 'bad-example.mjs'), 'const unused =   1\n');
      git('add', 'scripts/bad-example.mjs');
      const refused = git('commit', '-m', 'bad');
      expect(refused.status).toBe(1);
      expect(refused.stderr).toMatch(/pre-commit: eslint, prettier failed on the staged files/);
      expect(refused.stdout + refused.stderr).toMatch(/bad-example\.mjs/);
      writeFileSync(join(tree.dir, 'scripts', 'bad-example.mjs'), "console.log('fine');\n");
      git('add', 'scripts/bad-example.mjs');
      const accepted = git('commit', '-m', 'good');
      expect(accepted.stderr).not.toMatch(/pre-commit:/);
      expect(accepted.status).toBe(0);
    } finally {
      tree.remove();
    }
  });
});
