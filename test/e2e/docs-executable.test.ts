// Every shell block of README.md and docs/*.md runs, as written, against a live `nerve demo`: a reader
// who pastes them in order gets no non-zero exit and no error body. The only liberties taken are those a
// reader with another demo would take: the demo's ports are free ones here (so the documented
// 3000/18000/50051/9901 are replaced by them, and API_PORT tells `npx nerve` which), and a command
// documented as running until Ctrl-C is stopped after a few seconds as Ctrl-C would. The blocks run in a
// scratch directory that links the checkout's files, so what they write (backups, certificates) stays
// out of the tree. Blocks that cannot run against a demo say so with `<!-- docs-test: skip — why -->`.
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  commands,
  ERROR_BODY,
  placeholders,
  shellBlocks,
  withStreamsBounded,
  words,
} from '../helpers/doc-blocks';
import { grpcurlProblems, nerveProtos } from '../helpers/grpcurl-check';
import { type Spawned, spawnNerve } from '../helpers/process';
import { waitFor } from '../helpers/wait';

const ROOT = join(__dirname, '..', '..');
const DOCS = ['README.md', ...readdirSync(join(ROOT, 'docs')).map((f) => `docs/${f}`)].filter((f) =>
  f.endsWith('.md'),
);
const LINKED = ['package.json', 'node_modules', 'bin', 'dist', 'proto', 'scripts', 'examples', 'deploy'];
const DOCUMENTED_PORTS = { api: 3000, xds: 18000, router: 50051, routerAdmin: 9901 } as const;

function installed(tool: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${tool}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** Tools a block needs beyond curl, node and npx; a block whose tool is missing is skipped naming it. */
const TOOLS = ['grpcurl', 'openssl', 'docker', 'kubectl', 'amtool'];
const protos = nerveProtos();

interface Ports {
  api: number;
  xds: number;
  router: number;
  routerAdmin: number;
}

function onDemoPorts(code: string, ports: Ports): string {
  let out = code;
  for (const [k, documented] of Object.entries(DOCUMENTED_PORTS))
    out = out.replace(
      new RegExp(`\\b(localhost|127\\.0\\.0\\.1):${documented}\\b`, 'g'),
      `$1:${ports[k as keyof Ports]}`,
    );
  return out;
}

function run(script: string, cwd: string, env: NodeJS.ProcessEnv, timeoutMs: number) {
  return new Promise<{ code: number | null; out: string; err: string }>((resolve) => {
    const child = spawn('bash', ['-c', script], { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (err += d.toString()));
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, out, err });
    });
  });
}

describe('every documented command works against a live demo', () => {
  let demo: Spawned;
  let ports: Ports;
  let scratch: string;

  beforeAll(async () => {
    scratch = mkdtempSync(join(tmpdir(), 'nerve-docs-'));
    for (const f of LINKED) symlinkSync(join(ROOT, f), join(scratch, f));
    demo = spawnNerve(
      ['demo', '--api-port', '0', '--xds-port', '0', '--router-port', '0', '--router-admin-port', '0'],
      { LOG_FORMAT: 'json' },
    );
    await demo.waitForOutput(/ready in \d+ ms/, 30_000);
    const banner = demo.stdout();
    const port = (re: RegExp) => Number(re.exec(banner)?.[1]);
    ports = {
      api: port(/REST API\s+http:\/\/[\d.]+:(\d+)/),
      xds: port(/xDS \+ admin\s+[\d.]+:(\d+)/),
      router: port(/router\s+[\d.]+:(\d+)/),
      routerAdmin: port(/router admin\s+http:\/\/[\d.]+:(\d+)/),
    };
  }, 60_000);

  const settled = () =>
    waitFor(
      async () => {
        const res = await fetch(`http://127.0.0.1:${ports.api}/api/v1/nerve/health`);
        return res.status === 200 && ((await res.json()) as { status: string }).status === 'healthy';
      },
      'the demo fleet healthy again',
      60_000,
    );

  afterAll(async () => {
    demo?.child.kill('SIGINT');
    await demo?.exited();
    rmSync(scratch, { recursive: true, force: true });
  });

  for (const doc of DOCS) {
    const blocks = shellBlocks(join(ROOT, doc));
    if (blocks.length === 0) continue;
    describe(doc, () => {
      // Each document starts on a settled fleet, as a reader who comes to it later finds one (the
      // previous one may have left processes starting or restarting).
      beforeAll(() => settled(), 60_000);
      // One shell session per document, as a reader keeps one terminal: variables carry over.
      const state = () => join(scratch, `${doc.replace(/\W/g, '_')}.env`);
      for (const block of blocks) {
        const where = `${doc}:${block.line}`;
        const missing = TOOLS.find(
          (t) => new RegExp(`(^|[\\s;|&(])${t}\\s`, 'm').test(block.code) && !installed(t),
        );
        if (block.skip) {
          it.skip(`${where} (not run: ${block.skip})`, () => undefined);
          continue;
        }
        if (missing === 'grpcurl' && commands(block.code).every((c) => words(c)[0] === 'grpcurl')) {
          it(`${where} (grpcurl is not installed: its calls are checked against proto/, not run)`, () =>
            expect(grpcurlProblems(block.code, protos)).toEqual([]));
          continue;
        }
        if (missing) {
          it.skip(`${where} (not run: ${missing} is not installed)`, () => undefined);
          continue;
        }
        it(
          where,
          async () => {
            expect(placeholders(block.code)).toEqual([]);
            const script = [
              'set -eo pipefail',
              `[ -f ${state()} ] && . ${state()}`,
              'set -a',
              withStreamsBounded(onDemoPorts(block.code, ports), 3),
              'set +a',
              `export -p > ${state()}`,
            ].join('\n');
            const { code, out, err } = await run(
              script,
              scratch,
              { ...process.env, API_PORT: String(ports.api), LOG_LEVEL: 'warn' },
              90_000,
            );
            const shown = `exit ${code}\n--- stdout\n${out.slice(-4000)}\n--- stderr\n${err.slice(-4000)}`;
            if (code !== 0) throw new Error(`${where} failed: ${shown}`);
            if (ERROR_BODY.test(out)) throw new Error(`${where} printed an error body: ${shown}`);
          },
          120_000,
        );
      }
    });
  }

  // Runs after every document's blocks (tests run in the order they are declared).
  it('leaves nothing git would track: what the commands wrote is ignored, so lint stays clean', () => {
    const written = readdirSync(scratch).filter((f) => !LINKED.includes(f) && !f.endsWith('.env'));
    expect(written.length).toBeGreaterThan(0);
    const tracked = written.filter((f) => {
      try {
        execFileSync('git', ['check-ignore', '-q', f], { cwd: ROOT });
        return false;
      } catch {
        return true;
      }
    });
    expect(tracked).toEqual([]);
  });
});
