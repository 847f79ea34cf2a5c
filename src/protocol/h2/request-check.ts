import { CONNECTION_SPECIFIC } from './output';

/**
 * Whether a request's header list is one HTTP/2 allows (RFC 9113 §8.1.1, §8.2, §8.3.1): a malformed
 * request is refused by the router itself, so an instance never resets it and never looks at fault.
 */

/** What checkRequest returns for a request without content-length. */
export const NO_CONTENT_LENGTH = -1;

const REQUEST_PSEUDO = [':method', ':scheme', ':authority', ':path'] as const;
/** Header names already checked (they repeat call after call); bounded. */
const validNames = new Set<string>();

/**
 * The request's content-length (NO_CONTENT_LENGTH when it has none), or why it is malformed: lowercase
 * token names; the four request pseudo-headers only, each at most once and before the others;
 * :method, :scheme and a non-empty :path present; no connection-specific headers; te only "trailers";
 * no NUL, CR or LF in a value nor white space around it; content-length digits, once.
 */
export function checkRequest(headers: readonly string[]): number | string {
  let regular = false;
  let seen = 0; // a bit per pseudo-header
  let length = NO_CONTENT_LENGTH;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i];
    const value = headers[i + 1];
    if (!validValue(value)) return `invalid characters in the value of ${shown(name)}`;
    if (name.charCodeAt(0) === 58 /* ':' */) {
      if (regular) return `pseudo-header ${shown(name)} after regular headers`;
      const bit = REQUEST_PSEUDO.indexOf(name as (typeof REQUEST_PSEUDO)[number]);
      if (bit < 0) return `unknown pseudo-header ${shown(name)}`;
      if (seen & (1 << bit)) return `duplicate ${name}`;
      seen |= 1 << bit;
      if (name === ':path' && value === '') return 'empty :path';
      continue;
    }
    regular = true;
    if (!validName(name)) return `invalid header name ${shown(name)}`;
    if (CONNECTION_SPECIFIC.has(name)) return `connection-specific header ${name}`;
    if (name === 'te' && value !== 'trailers') return 'te other than "trailers"';
    if (name === 'content-length') {
      if (length !== NO_CONTENT_LENGTH) return 'more than one content-length';
      if (!/^\d{1,15}$/.test(value)) return 'content-length not a number';
      length = Number(value);
    }
  }
  if (!(seen & 1)) return 'missing :method';
  if (!(seen & 2)) return 'missing :scheme';
  if (!(seen & 8)) return 'missing :path';
  return length;
}

/** Why a trailer block is malformed (pseudo-headers are not allowed in trailers, §8.1), or undefined. */
export function checkTrailers(headers: readonly string[]): string | undefined {
  for (let i = 0; i < headers.length; i += 2)
    if (headers[i].charCodeAt(0) === 58) return `pseudo-header ${shown(headers[i])} in trailers`;
  return undefined;
}

/** A name cut for an error message: a peer's 9,000-character name is not echoed whole. */
function shown(name: string): string {
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
}

/** RFC 9113 §8.2.1: no NUL, CR or LF, and no leading or trailing space or tab. */
function validValue(value: string): boolean {
  const n = value.length;
  if (n === 0) return true;
  const first = value.charCodeAt(0);
  const last = value.charCodeAt(n - 1);
  if (first === 0x20 || first === 0x09 || last === 0x20 || last === 0x09) return false;
  for (let i = 0; i < n; i++) {
    const c = value.charCodeAt(i);
    if (c === 0 || c === 0x0a || c === 0x0d) return false;
  }
  return true;
}

function validName(name: string): boolean {
  if (validNames.has(name)) return true;
  if (name.length === 0) return false;
  for (let i = 0; i < name.length; i++) {
    const c = name.charCodeAt(i);
    // RFC 9110 token characters, lowercase only.
    const ok =
      (c >= 0x61 && c <= 0x7a) ||
      (c >= 0x30 && c <= 0x39) ||
      c === 0x2d ||
      c === 0x5f ||
      c === 0x2e ||
      c === 0x21 ||
      (c >= 0x23 && c <= 0x27) ||
      c === 0x2a ||
      c === 0x2b ||
      c === 0x5e ||
      c === 0x60 ||
      c === 0x7c ||
      c === 0x7e;
    if (!ok) return false;
  }
  if (validNames.size < 10_000) validNames.add(name);
  return true;
}
