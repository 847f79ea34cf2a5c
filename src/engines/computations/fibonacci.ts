import { type Computation, integerField, jsonInput, jsonOutput } from './computation';

export const fibonacci: Computation = {
  name: 'fibonacci',
  description: '{"n": 0..5000} → {"n", "value"} (value as a decimal string, exact)',
  run(payload) {
    const n = integerField(jsonInput(payload, 'fibonacci', '{"n": 30}'), 'n', 'fibonacci', 0, 5000);
    let a = 0n;
    let b = 1n;
    for (let i = 0; i < n; i++) [a, b] = [b, a + b];
    return jsonOutput({ n, value: a.toString() });
  },
};
