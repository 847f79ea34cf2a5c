// Bundles the dashboard (src/dashboard) into dist/dashboard at build time: one script, its styles and
// uPlot's, served from the package by the API (no CDN: it works offline).
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const out = join(root, 'dist', 'dashboard');
mkdirSync(out, { recursive: true });
await build({
  entryPoints: [join(root, 'src', 'dashboard', 'main.tsx')],
  outfile: join(out, 'app.js'),
  bundle: true,
  minify: true,
  sourcemap: true,
  format: 'iife',
  target: ['es2020'],
  jsx: 'automatic',
  jsxImportSource: 'preact',
  logLevel: 'warning',
});
const require = createRequire(import.meta.url);
copyFileSync(join(dirname(require.resolve('uplot')), 'uPlot.min.css'), join(out, 'uPlot.min.css'));
for (const f of ['index.html', 'style.css']) copyFileSync(join(root, 'src', 'dashboard', f), join(out, f));
