import { COMPUTATIONS, ENGINE_TYPES } from '../../src/engines/computations';
import { InvalidInputError } from '../../src/engines/computations/computation';

const run = (op: string, input: unknown) =>
  JSON.parse(
    COMPUTATIONS.get(op)!
      .run(Buffer.from(typeof input === 'string' ? input : JSON.stringify(input)))
      .toString(),
  );

describe('demo computations', () => {
  it('every engine type answers echo, and the echo type nothing else', () => {
    for (const ops of ENGINE_TYPES.values()) {
      expect(ops).toContain('echo');
      for (const op of ops) expect(COMPUTATIONS.has(op)).toBe(true);
    }
    expect(ENGINE_TYPES.get('echo')).toEqual(['echo']);
    expect(COMPUTATIONS.get('echo')!.run(Buffer.from([0, 255, 7]))).toEqual(Buffer.from([0, 255, 7]));
  });

  it('compute real answers', () => {
    expect(run('fibonacci', { n: 100 }).value).toBe('354224848179261915075');
    expect(run('prime', { n: 999_999_999_989 })).toEqual({ n: 999_999_999_989, prime: true });
    expect(run('prime', { n: 1_000_000_000_000 }).prime).toBe(false);
    expect(
      run('matmul', {
        a: [
          [1, 2],
          [3, 4],
        ],
        b: [[5], [6]],
      }),
    ).toEqual({ c: [[17], [39]] });
    expect(run('sha256', { data: '' }).sha256).toBe(
      'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    );
    const pi = run('montecarlo', { samples: 200_000, seed: 7 });
    expect(pi.pi).toBeCloseTo(Math.PI, 1);
    expect(run('montecarlo', { samples: 200_000, seed: 7 })).toEqual(pi);
  });

  it.each([
    ['fibonacci', 'not json', 'fibonacci: payload must be JSON like {"n": 30}'],
    ['fibonacci', { n: 1.5 }, 'fibonacci: "n" must be an integer from 0 to 5000'],
    ['prime', [1], 'prime: payload must be a JSON object like {"n": 97}'],
    [
      'matmul',
      { a: [[1, 2]], b: [[1, 2]] },
      "matmul: a is 1×2 and b is 1×2; a's columns must equal b's rows",
    ],
    ['matmul', { a: [[1], [1, 2]], b: [[1]] }, 'matmul: "a" row 1 must have 1 finite numbers'],
    ['sha256', { data: 5 }, 'sha256: "data" must be a string'],
    ['montecarlo', { samples: 0 }, 'montecarlo: "samples" must be an integer from 1 to 10000000'],
  ])('%s rejects %j with a clear message', (op, input, message) => {
    expect(() => run(op, input)).toThrow(new InvalidInputError(message));
  });
});
