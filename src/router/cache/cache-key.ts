import { createHash } from 'node:crypto';
import type { CachePolicy } from '../../../gen/nerve/discovery/v1/policy';
import { type HeaderList, headerValue } from '../http/headers';

const INVOKE = '/nerve.engine.v1.Engine/Invoke';

/**
 * Whether a call may be served from the cache at all: a listed method, no `cache-control: no-cache` (or
 * no-store) from the caller.
 */
export function cacheable(policy: CachePolicy, headers: HeaderList): boolean {
  const path = headerValue(headers, ':path');
  if (path === undefined || !policy.methods.includes(path)) return false;
  const control = headerValue(headers, 'cache-control');
  return control === undefined || !/no-cache|no-store/i.test(control);
}

/**
 * The key of a whole request: its method, its bytes and the listed metadata; undefined when the request
 * is not one uncompressed message, or (for Engine/Invoke) its operation is not listed.
 */
export function cacheKey(policy: CachePolicy, headers: HeaderList, body: Buffer): string | undefined {
  if (body.length < 5 || body[0] !== 0 || body.readUInt32BE(1) !== body.length - 5) return undefined;
  const path = headerValue(headers, ':path')!;
  if (path === INVOKE && policy.operations.length > 0) {
    const op = invokeOperation(body);
    if (op === undefined || !policy.operations.includes(op)) return undefined;
  }
  // Small requests are their own key (no hashing per call); large ones are hashed.
  let key =
    body.length <= 512
      ? path + '\0' + body.toString('latin1')
      : path + '\0#' + createHash('sha256').update(body).digest('base64url');
  for (const name of policy.keyMetadata) key += '\0' + name + '=' + (headerValue(headers, name) ?? '');
  return key;
}

/** InvokeRequest.operation (field 1) read from the framed message without decoding the rest. */
export function invokeOperation(framed: Buffer): string | undefined {
  let i = 5;
  while (i < framed.length) {
    const tag = framed[i++];
    const wire = tag & 7;
    let len = 0;
    let shift = 0;
    if (wire === 0) {
      while (i < framed.length && framed[i++] & 0x80);
      continue;
    }
    if (wire !== 2) return undefined;
    for (;;) {
      const b = framed[i++];
      len |= (b & 0x7f) << shift;
      if (!(b & 0x80)) break;
      shift += 7;
      if (shift > 28) return undefined;
    }
    if (tag >> 3 === 1) return framed.toString('utf8', i, i + len);
    i += len;
  }
  return '';
}
