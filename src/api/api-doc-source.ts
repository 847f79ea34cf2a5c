import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { ControlPlane } from '../control-plane/control-plane';
import { createLogger } from '../observability/logger';
import { MemoryStore } from '../store/memory-store';
import { API_VERSION, createApi, routesOf } from './app';
import { apiMarkdown, type ProtoSource } from './api-markdown';
import { openApiDocument } from './openapi';

/**
 * docs/API.md as the code stands: the route table of a real (in-memory, unlistened REST) control plane
 * and the protos under `protoDir`. For `npm run docs:api` and the test that keeps the file fresh.
 */
export async function apiDocMarkdown(protoDir: string): Promise<string> {
  const cp = await ControlPlane.start({
    store: new MemoryStore(),
    logger: createLogger('api-doc', 'silent'),
    host: '127.0.0.1',
    xdsPort: 0,
    healthChecks: false,
  });
  try {
    const routes = routesOf(createApi(cp.admin, cp, createLogger('api-doc', 'silent')));
    return apiMarkdown(openApiDocument(routes, API_VERSION), protoSources(protoDir));
  } finally {
    await cp.stop();
  }
}

function protoSources(dir: string): ProtoSource[] {
  const out: ProtoSource[] = [];
  const walk = (d: string) => {
    for (const e of readdirSync(d, { withFileTypes: true }).sort((a, b) => a.name.localeCompare(b.name))) {
      const p = join(d, e.name);
      if (e.isDirectory()) walk(p);
      else if (e.name.endsWith('.proto'))
        out.push({ name: relative(dir, p), source: readFileSync(p, 'utf8') });
    }
  };
  walk(dir);
  return out;
}
