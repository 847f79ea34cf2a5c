import { type Computation, integerField, jsonInput, jsonOutput } from './computation';

/** mulberry32: a small seeded PRNG, so equal requests give equal answers on every instance. */
function mulberry32(seed: number): () => number {
  let t = seed >>> 0;
  return () => {
    t = (t + 0x6d2b79f5) >>> 0;
    let r = Math.imul(t ^ (t >>> 15), 1 | t);
    r = (r + Math.imul(r ^ (r >>> 7), 61 | r)) ^ r;
    return ((r ^ (r >>> 14)) >>> 0) / 4294967296;
  };
}

export const montecarlo: Computation = {
  name: 'montecarlo',
  description: '{"samples": 1..10^7, "seed"?: int} → {"pi": estimate, "samples"}',
  run(payload) {
    const input = jsonInput(payload, 'montecarlo', '{"samples": 100000}');
    const samples = integerField(input, 'samples', 'montecarlo', 1, 10_000_000);
    const seed = input.seed === undefined ? 1 : integerField(input, 'seed', 'montecarlo', 0, 2 ** 32 - 1);
    const random = mulberry32(seed);
    let inside = 0;
    for (let i = 0; i < samples; i++) {
      const x = random();
      const y = random();
      if (x * x + y * y <= 1) inside++;
    }
    return jsonOutput({ pi: (4 * inside) / samples, samples });
  },
};
