import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join, relative } from 'node:path';

const ROOT = join(__dirname, '..', '..');

function files(dir: string): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? files(path) : path.endsWith('.ts') ? [path] : [];
  });
}

/**
 * A test whose tool is missing is listed as skipped with its reason (test/helpers/requires.ts), never
 * passed by returning early or left out of the run unnamed.
 */
describe('test hygiene', () => {
  it('has no test that returns early or skips without a reason when a tool is missing', () => {
    const silent =
      /if \(!\s*(?:has\w*|existsSync)\([^)]*\)\)\s*return\b|\?\s*describe\s*:\s*describe\.skip|\?\s*it\s*:\s*it\.skip/;
    const found = files(join(ROOT, 'test'))
      .filter((f) => !f.endsWith('test-hygiene.test.ts'))
      .flatMap((f) =>
        readFileSync(f, 'utf8')
          .split('\n')
          .map((line, i) => [line, i] as const)
          .filter(([line]) => silent.test(line))
          .map(([, i]) => `${relative(ROOT, f)}:${i + 1}`),
      );
    expect(found).toEqual([]);
  });
});
