import { RE2JS } from 're2js';
import type { CallMatch, StringMatch } from '../../../gen/nerve/discovery/v1/resources';
import type { HeaderList } from '../http/headers';

/** A compiled value test. RE2: linear in the value, whatever the pattern and whatever a caller sends. */
type ValueTest = (value: string) => boolean;

interface Condition {
  /** A header name, or a cookie name when `cookie`. */
  readonly name: string;
  readonly cookie: boolean;
  readonly test: ValueTest;
}

/**
 * Flagger's `match` on the call path: true when every condition of any one rule holds. A missing header
 * or cookie fails its condition (an `exact: ""` needs the field present and empty). Allocation-free for
 * header conditions; a cookie condition slices out the one value it tests.
 */
export class CallMatcher {
  private readonly rules: readonly (readonly Condition[])[];

  constructor(rules: readonly CallMatch[]) {
    this.rules = rules.map((r) => [
      ...Object.entries(r.headers).map(([name, m]) => ({ name, cookie: false, test: compile(m) })),
      ...Object.entries(r.cookies).map(([name, m]) => ({ name, cookie: true, test: compile(m) })),
    ]);
  }

  get empty(): boolean {
    return this.rules.length === 0;
  }

  matches(headers: HeaderList): boolean {
    const rules = this.rules;
    for (let r = 0; r < rules.length; r++) {
      const conditions = rules[r];
      let all = true;
      for (let c = 0; c < conditions.length && all; c++) {
        const cond = conditions[c];
        const value = cond.cookie ? cookieValue(headers, cond.name) : headerOf(headers, cond.name);
        all = value !== undefined && cond.test(value);
      }
      if (all) return true;
    }
    return false;
  }
}

function compile(m: StringMatch): ValueTest {
  if (m.regex !== undefined) {
    const re = RE2JS.compile(m.regex);
    return (value) => re.matches(value);
  }
  const exact = m.exact ?? '';
  return (value) => value === exact;
}

/** A repeated header is tested on its first value, as `headerValue` reads it everywhere in the router. */
function headerOf(headers: HeaderList, name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return undefined;
}

/**
 * The value of cookie `name` in the call's Cookie fields. HTTP/2 may split cookies over several `cookie`
 * fields (RFC 9113 §8.2.3), each a list of `name=value` pairs joined by "; ".
 */
export function cookieValue(headers: HeaderList, name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) {
    if (headers[i] !== 'cookie') continue;
    const list = headers[i + 1];
    let at = 0;
    while (at < list.length) {
      while (at < list.length && (list.charCodeAt(at) === 32 || list.charCodeAt(at) === 59)) at++;
      let end = list.indexOf(';', at);
      if (end < 0) end = list.length;
      const eq = list.indexOf('=', at);
      if (eq > at && eq < end && eq - at === name.length && list.startsWith(name, at)) {
        let v = list.slice(eq + 1, end).trimEnd();
        if (v.length >= 2 && v.charCodeAt(0) === 34 && v.charCodeAt(v.length - 1) === 34) v = v.slice(1, -1);
        return v;
      }
      at = end + 1;
    }
  }
  return undefined;
}
