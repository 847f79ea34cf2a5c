import { readFileSync } from 'node:fs';

/** A fenced shell block of a document, where it starts, and why it is not run (when it is not). */
export interface DocBlock {
  readonly file: string;
  /** 1-based line of the opening fence. */
  readonly line: number;
  readonly code: string;
  /** Set by `<!-- docs-test: skip … -->` just above the fence: the reason it cannot run here. */
  readonly skip?: string;
}

const FENCE = /^```(sh|bash|shell)\s*$/;
const SKIP = /^<!--\s*docs-test:\s*skip\b\s*[-—:]?\s*(.*?)\s*-->\s*$/;

/**
 * The shell blocks of a Markdown document. A block the extractor must not run carries, just above its
 * fence (blank lines between are fine), `<!-- docs-test: skip — why -->`; a skip without a reason is
 * refused, so every exemption says what it would need.
 */
export function shellBlocks(file: string, text = readFileSync(file, 'utf8')): DocBlock[] {
  const lines = text.split('\n');
  const blocks: DocBlock[] = [];
  for (let i = 0; i < lines.length; i++) {
    if (!FENCE.test(lines[i])) continue;
    const start = i;
    const body: string[] = [];
    for (i++; i < lines.length && !/^```\s*$/.test(lines[i]); i++) body.push(lines[i]);
    let above = start - 1;
    while (above >= 0 && lines[above].trim() === '') above--; // Prettier puts a blank line between
    const marker = above >= 0 ? SKIP.exec(lines[above]) : null;
    if (marker && !marker[1]) throw new Error(`${file}:${start}: a docs-test skip must give its reason`);
    blocks.push({ file, line: start + 1, code: body.join('\n'), ...(marker ? { skip: marker[1] } : {}) });
  }
  return blocks;
}

/** `<a placeholder>` the reader must replace: a letter right after `<`, so redirections never match. */
export function placeholders(code: string): string[] {
  return [...new Set(code.match(/<[a-z][a-z0-9 -]*>/g) ?? [])];
}

/** What the trailing comment of a command that runs until Ctrl-C says. */
export const STREAMS = 'streams until Ctrl-C';

/**
 * A block as the test runs it: each command whose trailing comment says {@link STREAMS} runs for
 * `seconds` and is then stopped as Ctrl-C would stop it (exit 124 from `timeout` is its success);
 * everything else is as written.
 */
export function withStreamsBounded(code: string, seconds: number): string {
  return code
    .split('\n')
    .map((l) => {
      const comment = l.search(/\s#[^#]*$/);
      if (comment < 0 || !l.slice(comment).includes(STREAMS)) return l;
      return `{ timeout -s INT ${seconds} ${l.slice(0, comment).trim()} || [ $? -eq 124 ]; }`;
    })
    .join('\n');
}

/** The envelope every REST error has: a 2xx never carries it. */
export const ERROR_BODY = /"error":\{"code":"/;

/** A block's commands: continuation lines joined, comment-only lines dropped (quotes may span lines). */
export function commands(code: string): string[] {
  const joined = code.replace(/\\\n\s*/g, ' ');
  const out: string[] = [];
  let current = '';
  for (const line of joined.split('\n')) {
    if (current === '' && /^\s*(#|$)/.test(line)) continue;
    current = current ? `${current}\n${line}` : line;
    if ((current.match(/'/g) ?? []).length % 2 === 0) {
      out.push(current.trim());
      current = '';
    }
  }
  if (current) out.push(current.trim());
  return out;
}

/** Shell words of one command: single and double quotes honoured, a trailing comment dropped. */
export function words(command: string): string[] {
  const out: string[] = [];
  const re = /'([^']*)'|"((?:[^"\\]|\\.)*)"|(#.*$)|(\S+)/gs;
  let word: string | undefined;
  for (const m of command.matchAll(re)) {
    if (m[3] !== undefined) break;
    const piece = m[1] ?? m[2] ?? m[4] ?? '';
    const touching = m.index > 0 && !/\s/.test(command[m.index - 1]);
    if (touching && word !== undefined) word += piece;
    else {
      if (word !== undefined) out.push(word);
      word = piece;
    }
  }
  if (word !== undefined) out.push(word);
  return out;
}
