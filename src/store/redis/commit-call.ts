import { entryKey } from '../../model/config';
import {
  type ChangeRequest,
  FencedError,
  RevisionConflictError,
  StoreUnavailableError,
  VersionConflictError,
} from '../config-store';
import type { RedisKeys } from './keys';

/**
 * The COMMIT script's call (scripts.ts): its keys and arguments from a change request, and what its
 * refusals mean to a caller. Pure, so that the wire shape of a commit is read in one place.
 */
export interface CommitCall {
  readonly keys: string[];
  readonly args: (string | number)[];
  /** When the change was made (epoch ms), as its record says. */
  readonly at: number;
}

export function commitCall(
  k: RedisKeys,
  request: ChangeRequest,
  options: {
    readonly feedLength: number;
    /** Past this instant in Redis's clock the script refuses the change (0: no deadline). */
    readonly deadline: number;
    readonly generation: string | undefined;
    /** The hashed Idempotency-Key the change is committed under, if any. */
    readonly idempotent: string | undefined;
    readonly now: number;
  },
): CommitCall {
  const at = options.now;
  const body = JSON.stringify({ at, actor: request.actor, summary: request.summary, ops: request.ops });
  const args: (string | number)[] = [
    request.expectVersion ?? '',
    request.fence ?? '',
    options.feedLength,
    body.slice(1), // the script puts the version in front
    request.expect?.size ?? 0,
  ];
  for (const [key, revision] of request.expect ?? []) args.push(key, revision);
  args.push(request.ops.length);
  for (const op of request.ops)
    args.push(
      op.op === 'put' ? 'p' : 'd',
      entryKey(op.kind, op.name),
      op.op === 'put' ? JSON.stringify(op.value) : '',
    );
  args.push(options.deadline, options.generation ?? '');
  const keys = [k.version, k.values, k.revisions, k.changes, k.feed, k.leader, k.generation];
  if (options.idempotent !== undefined) keys.push(k.idempotencyPrefix + options.idempotent);
  return { keys, args, at };
}

/**
 * The error a refused commit means (the script's reply), or undefined when it committed or the
 * refusal needs the store (GENERATION, DUPLICATE).
 */
export function commitRefusal(reply: readonly string[], request: ChangeRequest): Error | undefined {
  switch (reply[0]) {
    case 'EXPIRED':
      return new StoreUnavailableError(
        `the store ran the change ${reply[1]} ms after this replica stopped waiting: not applied`,
      );
    case 'FENCED':
      return new FencedError(request.fence ?? '', reply[1]);
    case 'VERSION':
      return new VersionConflictError(request.expectVersion ?? 0, Number(reply[1]));
    case 'REVISION':
      return new RevisionConflictError(reply[1], request.expect?.get(reply[1]) ?? 0, Number(reply[2]));
    default:
      return undefined;
  }
}
