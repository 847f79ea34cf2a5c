import { execFile } from 'node:child_process';
import { execFileSync } from 'node:child_process';

export function hasPromtool(): boolean {
  try {
    execFileSync('promtool', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** `promtool check metrics` on an exposition: resolves with its complaints ('' when clean). */
export function promtoolCheck(exposition: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = execFile('promtool', ['check', 'metrics'], (err, stdout, stderr) => {
      // promtool exits 1 on lint findings, 3 on errors: both are findings to show.
      if (err && typeof err.code !== 'number') return reject(err);
      resolve(`${stdout}${stderr}`.trim());
    });
    child.stdin!.end(exposition);
  });
}

/**
 * Metric names in an exposition: those with samples, and those declared (# TYPE) without any yet (a
 * labelled counter before its first increment); a histogram's declaration brings its _bucket, _sum and
 * _count.
 */
export function metricNames(exposition: string): Set<string> {
  const names = new Set<string>();
  for (const line of exposition.split('\n')) {
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*)[{ ]/.exec(line);
    if (m) names.add(m[1]);
    const t = /^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (\w+)/.exec(line);
    if (t) {
      names.add(t[1]);
      if (t[2] === 'histogram') for (const suffix of ['_bucket', '_sum', '_count']) names.add(t[1] + suffix);
    }
  }
  return names;
}
