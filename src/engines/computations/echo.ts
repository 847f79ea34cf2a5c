import type { Computation } from './computation';

/** Returns the payload unchanged: the baseline every engine answers. */
export const echo: Computation = {
  name: 'echo',
  description: 'returns the payload unchanged',
  run: (payload) => payload,
};
