import { NerveError } from '../../src/model/errors';
import { asNerveError } from '../../src/store/as-nerve-error';

/**
 * The code a command refused with, as the transports see it (store failures mapped to their codes), or
 * 'OK' when it was not refused.
 */
export async function refusal(p: Promise<unknown>): Promise<string> {
  try {
    await p;
  } catch (thrown) {
    const err = asNerveError(thrown);
    if (err instanceof NerveError) return err.code;
    throw err;
  }
  return 'OK';
}
