import { randomBytes } from 'node:crypto';

/**
 * What the control plane's front door tells the gRPC services it passes calls on to about the caller:
 * the identity of its verified client certificate and its address. Those services listen on no port of
 * their own (the front door hands them calls in-process), so the fields can only come from the front
 * door; it removes any copy a caller sent, and signs what it adds with a secret of this process, so a
 * field that does not carry the secret is ignored wherever it came from.
 */
export const FORWARDED_PROOF = 'x-nerve-forwarded-proof';
export const FORWARDED_IDENTITY = 'x-nerve-forwarded-identity';
export const FORWARDED_PEER = 'x-nerve-forwarded-peer';

const SECRET = randomBytes(18).toString('base64url');

/** Header fields (name, value pairs) the front door adds to a call it passes on. */
export function forwardedFields(identity: string | undefined, peer: string): string[] {
  const out = [FORWARDED_PROOF, SECRET, FORWARDED_PEER, peer];
  if (identity !== undefined) out.push(FORWARDED_IDENTITY, identity);
  return out;
}

/** Whether a header field is one of the front door's: a caller's copy is dropped. */
export function isForwardedField(name: string): boolean {
  return name === FORWARDED_PROOF || name === FORWARDED_IDENTITY || name === FORWARDED_PEER;
}

/** The caller the front door vouched for, when the proof is this process's secret. */
export function forwardedPeer(
  get: (name: string) => string | undefined,
): { identity: string | undefined; peer: string } | undefined {
  if (get(FORWARDED_PROOF) !== SECRET) return undefined;
  return { identity: get(FORWARDED_IDENTITY), peer: get(FORWARDED_PEER) ?? 'unknown' };
}
