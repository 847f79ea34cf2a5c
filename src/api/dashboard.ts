import express from 'express';
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';

/** Where the build put the dashboard: dist/dashboard under the package root (found from this file). */
export function dashboardDir(): string | undefined {
  let dir = __dirname;
  for (let i = 0; i < 6; i++) {
    const candidate = join(dir, 'dist', 'dashboard');
    if (existsSync(join(candidate, 'index.html'))) return candidate;
    const parent = dirname(dir);
    if (parent === dir) break;
    dir = parent;
  }
  return undefined;
}

/** GET / and its assets: the dashboard bundled at build time (scripts/build-dashboard.mjs). */
export function dashboardRoutes(): express.Router {
  const router = express.Router();
  const dir = dashboardDir();
  if (!dir) {
    router.get('/', (_req, res) => {
      res.status(503).type('text/plain').send('The dashboard is not built: run `npm run build`.\n');
    });
    return router;
  }
  router.use(express.static(dir, { index: 'index.html', maxAge: '5m', fallthrough: true }));
  return router;
}
