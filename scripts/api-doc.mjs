#!/usr/bin/env node
/**
 * npm run docs:api — writes docs/API.md from the REST route table's OpenAPI document and the protos
 * (src/api/api-markdown.ts renders; test/e2e/api-doc.test.ts fails when the committed file is stale).
 * Runs the built code (dist/).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const { apiDocMarkdown } = createRequire(import.meta.url)(
  join(root, 'dist', 'src', 'api', 'api-doc-source.js'),
);
mkdirSync(join(root, 'docs'), { recursive: true });
writeFileSync(join(root, 'docs', 'API.md'), await apiDocMarkdown(join(root, 'proto')));
console.log('wrote docs/API.md');
