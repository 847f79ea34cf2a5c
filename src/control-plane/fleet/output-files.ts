import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readFileSync,
  statSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

export type OutputStream = 'stdout' | 'stderr';

/** Where a managed instance's output goes: one file per stream, plus the previous part when rotated. */
export function outputPaths(runDir: string, engine: string, id: string): Record<OutputStream, string> {
  const dir = join(runDir, engine);
  return { stdout: join(dir, `${id}.stdout.log`), stderr: join(dir, `${id}.stderr.log`) };
}

/**
 * Opens a stream's file for a new process to append to. Output goes to files, not pipes, so an instance
 * outlives its supervisor (a pipe would break with it) and a new leader on the host can read it.
 */
export function openOutput(path: string): number {
  mkdirSync(join(path, '..'), { recursive: true });
  return openSync(path, 'a');
}

export function closeOutput(fd: number): void {
  try {
    closeSync(fd);
  } catch {
    /* already closed */
  }
}

/**
 * Bounds a file a process appends to (copy-truncate, as logrotate's): past `maxBytes` its newest half
 * goes to `<path>.1` (replacing the one before) and the file is truncated; the process writes with
 * O_APPEND, so it goes on at the new end. Lines written between the copy and the truncation are lost:
 * the price of not needing the process's help.
 */
export function rotateIfLarge(path: string, maxBytes: number): void {
  try {
    if (statSync(path).size <= maxBytes) return;
    writeFileSync(`${path}.1`, readTail(path, Math.floor(maxBytes / 2)));
    truncateSync(path, 0);
  } catch {
    /* no file yet, or it went away */
  }
}

/** The last `lines` lines (at most `maxBytes`) of a stream: the rotated part first, then the current. */
export function tailOutput(path: string, lines: number, maxBytes = 64 * 1024): string[] {
  const parts: string[] = [];
  for (const p of [`${path}.1`, path]) if (existsSync(p)) parts.push(readTail(p, maxBytes));
  const all = parts.join('').split('\n');
  if (all[all.length - 1] === '') all.pop();
  return all.slice(-lines);
}

function readTail(path: string, maxBytes: number): string {
  const data = readFileSync(path);
  const start = Math.max(0, data.length - maxBytes);
  let text = data.subarray(start).toString('utf8');
  // A cut line would mislead: start at the first whole one.
  if (start > 0) text = text.slice(text.indexOf('\n') + 1);
  return text;
}
