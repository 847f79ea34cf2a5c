// CI runs the README's Quickstart as a newcomer would, on its clean clone: `npm start` (after `npm ci`),
// until the demo prints its `ready` line and /health answers 200, then Ctrl-C as a terminal sends it
// (SIGINT to the whole process group, so npm forwards a second one), and a drained exit within 5 s.
// Exits 1 naming what went wrong.
import { spawn } from 'node:child_process';

const READY_WITHIN_MS = 180_000; // the first start builds dist/
const EXIT_WITHIN_MS = 5_000;

const fail = (why, output) => {
  console.error(`quickstart: ${why}`);
  if (output) console.error(output.split('\n').slice(-40).join('\n'));
  process.exit(1);
};

const child = spawn('npm', ['start'], { detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
let output = '';
child.stdout.on('data', (d) => (output += d));
child.stderr.on('data', (d) => (output += d));
const exited = new Promise((resolve) => child.on('exit', (code, signal) => resolve({ code, signal })));

const started = Date.now();
while (!/ready in \d+ ms/.test(output)) {
  if (child.exitCode !== null) fail(`npm start exited with ${child.exitCode} before its ready line`, output);
  if (Date.now() - started > READY_WITHIN_MS) {
    process.kill(-child.pid, 'SIGKILL');
    fail(`no ready line within ${READY_WITHIN_MS} ms`, output);
  }
  await new Promise((r) => setTimeout(r, 100));
}
const health = /(http:\/\/\S+\/api\/v1\/nerve\/health)/.exec(output)?.[1];
if (!health) fail('the ready banner names no /health URL', output);
const res = await fetch(health).catch((e) => ({ status: String(e) }));
if (res.status !== 200) {
  process.kill(-child.pid, 'SIGKILL');
  fail(`GET ${health} answered ${res.status}`, output);
}
console.log(`quickstart: ready in ${Date.now() - started} ms (build included), ${health} 200`);

const interrupted = Date.now();
process.kill(-child.pid, 'SIGINT');
const timer = setTimeout(() => {
  process.kill(-child.pid, 'SIGKILL');
  fail(`no exit within ${EXIT_WITHIN_MS} ms of Ctrl-C`, output);
}, EXIT_WITHIN_MS);
const { code, signal } = await exited;
clearTimeout(timer);
if (/second signal/.test(output)) fail('one Ctrl-C was taken for two (the drain was skipped)', output);
if (!/"message":"stopped"|\bstopped\b/.test(output))
  fail(`exited (${code ?? signal}) without draining`, output);
console.log(
  `quickstart: Ctrl-C drained and exited in ${Date.now() - interrupted} ms (code ${code ?? signal})`,
);
