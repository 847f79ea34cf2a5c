import { readFileSync } from 'node:fs';

/**
 * Self instructions per function from a callgrind dump made with --dump-instr=yes, where V8's code gets
 * its names from the process's perf map (node --perf-basic-prof writes /tmp/perf-<pid>.map): callgrind
 * alone knows JIT code only by address. For bench:router-instructions' BENCH_FUNCTIONS.
 */
export function functionCosts(dumpFile: string, perfMap: string): Map<string, number> {
  const symbols = readPerfMap(perfMap);
  const names = new Map<string, string>();
  const costs = new Map<string, number>();
  let fn = '?';
  let pos = 0;
  let callCost = false;
  for (const line of readFileSync(dumpFile, 'utf8').split('\n')) {
    if (line.startsWith('fn=') || line.startsWith('cfn=')) {
      const m = /^c?fn=\((\d+)\)(?: (.*))?$/.exec(line);
      if (m?.[2] !== undefined) names.set(m[1], m[2]);
      if (line.startsWith('fn=') && m) fn = names.get(m[1]) ?? '?';
      continue;
    }
    if (line.startsWith('calls=')) {
      callCost = true; // the next cost line is the call's inclusive cost, not the caller's own
      continue;
    }
    const c = line.charCodeAt(0);
    if (!(
      line.startsWith('0x') ||
      line[0] === '+' ||
      line[0] === '-' ||
      line[0] === '*' ||
      (c >= 48 && c <= 57)
    ))
      continue;
    const parts = line.split(' ');
    const p = parts[0];
    if (p.startsWith('0x')) pos = parseInt(p, 16);
    else if (p[0] === '+') pos += Number(p.slice(1));
    else if (p[0] === '-') pos -= Number(p.slice(1));
    if (callCost) {
      callCost = false;
      continue;
    }
    // Positions are "instr line": the cost follows both.
    const ir = Number(parts[2] ?? 0);
    const name = fn.startsWith('0x') ? (symbols.find(pos) ?? 'JIT code without a name') : fn;
    costs.set(name, (costs.get(name) ?? 0) + ir);
  }
  return costs;
}

/** A perf map's entries, the newest winning where V8 reused addresses. */
function readPerfMap(file: string): { find(address: number): string | undefined } {
  const starts: number[] = [];
  const ends: number[] = [];
  const labels: string[] = [];
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const m = /^([0-9a-f]+) ([0-9a-f]+) (.*)$/.exec(line);
    if (!m) continue;
    const start = parseInt(m[1], 16);
    const end = start + parseInt(m[2], 16);
    // Drop older entries this one overlaps.
    for (let i = 0; i < starts.length; i++)
      if (starts[i] < end && start < ends[i]) {
        starts.splice(i, 1);
        ends.splice(i, 1);
        labels.splice(i, 1);
        i--;
      }
    starts.push(start);
    ends.push(end);
    labels.push(m[3]);
  }
  const order = starts.map((_, i) => i).sort((a, b) => starts[a] - starts[b]);
  const s = order.map((i) => starts[i]);
  const e = order.map((i) => ends[i]);
  const l = order.map((i) => labels[i]);
  return {
    find(address: number): string | undefined {
      let lo = 0;
      let hi = s.length - 1;
      while (lo <= hi) {
        const mid = (lo + hi) >> 1;
        if (s[mid] <= address) lo = mid + 1;
        else hi = mid - 1;
      }
      return hi >= 0 && address < e[hi] ? l[hi] : undefined;
    },
  };
}
