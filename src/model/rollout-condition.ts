/**
 * Argo Rollouts' `successCondition` / `failureCondition`, over what a metric query returned: `result` is
 * its first value (`result[i]` the i-th, NaN past the end), compared with numbers and joined with
 * `&&` / `||` / `!` (or `and` / `or` / `not`) and parentheses; `isNaN(x)` tests a value. Examples:
 * `result >= 0.95`, `result[0] < 0.5 || result[0] > 2`, `!(result > 100)`. A comparison with NaN is
 * false. Parsed once when the rollout is created (a bad one is refused with its position), evaluated
 * at every check.
 */
export type Condition = (result: readonly number[]) => boolean;

type Value = (result: readonly number[]) => number;

type Token = { kind: 'num'; value: number; at: number } | { kind: 'sym'; value: string; at: number };

const SYMBOLS = ['<=', '>=', '==', '!=', '&&', '||', '<', '>', '!', '(', ')', '[', ']', '-'];
const WORDS: Record<string, string> = { and: '&&', or: '||', not: '!' };

function tokenize(src: string): Token[] {
  const out: Token[] = [];
  let i = 0;
  while (i < src.length) {
    const c = src[i];
    if (c === ' ' || c === '\t' || c === '\n') {
      i++;
      continue;
    }
    const num = /^(?:\d+\.?\d*|\.\d+)(?:e[+-]?\d+)?/i.exec(src.slice(i));
    if (num) {
      out.push({ kind: 'num', value: Number(num[0]), at: i });
      i += num[0].length;
      continue;
    }
    const word = /^[A-Za-z_]\w*/.exec(src.slice(i));
    if (word) {
      out.push({ kind: 'sym', value: WORDS[word[0]] ?? word[0], at: i });
      i += word[0].length;
      continue;
    }
    const sym = SYMBOLS.find((s) => src.startsWith(s, i));
    if (!sym) throw new Error(`unexpected "${c}" at ${i + 1}`);
    out.push({ kind: 'sym', value: sym, at: i });
    i += sym.length;
  }
  return out;
}

class Parser {
  private i = 0;
  constructor(
    private readonly tokens: Token[],
    private readonly length: number,
  ) {}

  private peek(): Token | undefined {
    return this.tokens[this.i];
  }

  private is(value: string): boolean {
    const t = this.peek();
    return t?.kind === 'sym' && t.value === value;
  }

  private expect(value: string): void {
    if (!this.is(value)) throw new Error(`expected "${value}" ${this.where()}`);
    this.i++;
  }

  private where(): string {
    const t = this.peek();
    return t ? `at ${t.at + 1}` : `at the end (${this.length + 1})`;
  }

  condition(): Condition {
    const c = this.or();
    if (this.peek()) throw new Error(`unexpected "${String(this.peek()!.value)}" ${this.where()}`);
    return c;
  }

  private or(): Condition {
    let left = this.and();
    while (this.is('||')) {
      this.i++;
      const a = left;
      const b = this.and();
      left = (r) => a(r) || b(r);
    }
    return left;
  }

  private and(): Condition {
    let left = this.not();
    while (this.is('&&')) {
      this.i++;
      const a = left;
      const b = this.not();
      left = (r) => a(r) && b(r);
    }
    return left;
  }

  private not(): Condition {
    if (this.is('!')) {
      this.i++;
      const inner = this.not();
      return (r) => !inner(r);
    }
    if (this.is('(')) {
      // A parenthesised condition; a parenthesised value is not needed: values are one term each.
      this.i++;
      const inner = this.or();
      this.expect(')');
      return inner;
    }
    if (this.is('true') || this.is('false')) {
      const v = this.peek()!.value === 'true';
      this.i++;
      return () => v;
    }
    if (this.is('isNaN')) {
      this.i++;
      this.expect('(');
      const v = this.value();
      this.expect(')');
      return (r) => Number.isNaN(v(r));
    }
    const left = this.value();
    const op = this.peek();
    if (op?.kind !== 'sym' || !['<', '<=', '>', '>=', '==', '!='].includes(op.value))
      throw new Error(`expected a comparison (<, <=, >, >=, ==, !=) ${this.where()}`);
    this.i++;
    const right = this.value();
    switch (op.value) {
      case '<':
        return (r) => left(r) < right(r);
      case '<=':
        return (r) => left(r) <= right(r);
      case '>':
        return (r) => left(r) > right(r);
      case '>=':
        return (r) => left(r) >= right(r);
      case '==':
        return (r) => left(r) === right(r);
      default:
        return (r) => !Number.isNaN(left(r)) && !Number.isNaN(right(r)) && left(r) !== right(r);
    }
  }

  private value(): Value {
    const t = this.peek();
    if (t?.kind === 'num') {
      this.i++;
      return () => t.value;
    }
    if (this.is('-')) {
      this.i++;
      const n = this.peek();
      if (n?.kind !== 'num') throw new Error(`expected a number after "-" ${this.where()}`);
      this.i++;
      return () => -n.value;
    }
    if (t?.kind === 'sym' && t.value === 'result') {
      this.i++;
      let index = 0;
      if (this.is('[')) {
        this.i++;
        const n = this.peek();
        if (n?.kind !== 'num' || !Number.isInteger(n.value))
          throw new Error(`expected an index ${this.where()}`);
        index = n.value;
        this.i++;
        this.expect(']');
      }
      return (r) => (index < r.length ? r[index] : NaN);
    }
    throw new Error(`expected a number or result ${this.where()}`);
  }
}

/** The condition, or an error saying where it is wrong. */
export function parseCondition(src: string): Condition {
  const tokens = tokenize(src);
  if (tokens.length === 0) throw new Error('empty condition');
  return new Parser(tokens, src.length).condition();
}

/** Why `src` is not a condition, or undefined. */
export function conditionError(src: string): string | undefined {
  try {
    parseCondition(src);
    return undefined;
  } catch (err) {
    return (err as Error).message;
  }
}
