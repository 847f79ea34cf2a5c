import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { apiDocMarkdown } from '../../src/api/api-doc-source';

describe('docs/API.md', () => {
  it('is what npm run docs:api makes of the route table and the protos (run it after changing either)', async () => {
    const root = join(__dirname, '..', '..');
    const fresh = await apiDocMarkdown(join(root, 'proto'));
    const committed = readFileSync(join(root, 'docs', 'API.md'), 'utf8');
    expect(committed).toBe(fresh);
    // Every admin method and REST route is in it.
    expect(fresh).toMatch(
      /`CaptureCpuProfile\(CaptureCpuProfileRequest\) returns \(CaptureCpuProfileResponse\)`/,
    );
    expect(fresh).toMatch(/### PUT \/api\/v1\/nerve\/log-level/);
  });
});
