import { createHash } from 'node:crypto';
import { type Computation, integerField, InvalidInputError, jsonInput, jsonOutput } from './computation';

/** Hashes `data` `rounds` times (each round hashes the previous digest): a tunable CPU load. */
export const sha256: Computation = {
  name: 'sha256',
  description: '{"data": string, "rounds": 1..100000} → {"sha256": hex}',
  run(payload) {
    const input = jsonInput(payload, 'sha256', '{"data": "hello", "rounds": 1}');
    if (typeof input.data !== 'string') throw new InvalidInputError('sha256: "data" must be a string');
    const rounds = input.rounds === undefined ? 1 : integerField(input, 'rounds', 'sha256', 1, 100_000);
    let digest: Buffer = Buffer.from(input.data, 'utf8');
    for (let i = 0; i < rounds; i++) digest = createHash('sha256').update(digest).digest();
    return jsonOutput({ sha256: digest.toString('hex'), rounds });
  },
};
