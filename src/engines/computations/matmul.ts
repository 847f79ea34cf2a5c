import { type Computation, InvalidInputError, jsonInput, jsonOutput } from './computation';

const MAX_DIM = 200;

function matrix(value: unknown, name: string): number[][] {
  if (!Array.isArray(value) || value.length === 0 || value.length > MAX_DIM) {
    throw new InvalidInputError(`matmul: "${name}" must be a non-empty array of at most ${MAX_DIM} rows`);
  }
  const cols = Array.isArray(value[0]) ? value[0].length : 0;
  if (cols === 0 || cols > MAX_DIM)
    throw new InvalidInputError(`matmul: "${name}" rows must have 1 to ${MAX_DIM} numbers`);
  for (const [i, row] of value.entries()) {
    if (
      !Array.isArray(row) ||
      row.length !== cols ||
      !row.every((x) => typeof x === 'number' && Number.isFinite(x))
    ) {
      throw new InvalidInputError(`matmul: "${name}" row ${i} must have ${cols} finite numbers`);
    }
  }
  return value as number[][];
}

export const matmul: Computation = {
  name: 'matmul',
  description: '{"a": [[…]], "b": [[…]]} (up to 200×200) → {"c": a·b}',
  run(payload) {
    const input = jsonInput(payload, 'matmul', '{"a": [[1,2]], "b": [[3],[4]]}');
    const a = matrix(input.a, 'a');
    const b = matrix(input.b, 'b');
    if (a[0].length !== b.length) {
      throw new InvalidInputError(
        `matmul: a is ${a.length}×${a[0].length} and b is ${b.length}×${b[0].length}; a's columns must equal b's rows`,
      );
    }
    const c = a.map((row) =>
      b[0].map((_, j) => {
        let sum = 0;
        for (let k = 0; k < row.length; k++) sum += row[k] * b[k][j];
        return sum;
      }),
    );
    return jsonOutput({ c });
  },
};
