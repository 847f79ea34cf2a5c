import { echo } from '../../model/echo';
import { NerveError } from '../../model/errors';

export const MAX_PAGE = 1000;
export const DEFAULT_PAGE = 100;

/**
 * One page of items sorted by name, after the page before. `pageSize` 1 to 1000, 0 for the default
 * (100); `pageToken` the nextPageToken of the page before: the base64url of the last name, in canonical
 * form. Both transports check through here, so REST's limit and cursor and gRPC's page_size and
 * page_token are refused alike.
 */
export function page<T extends { readonly name: string }>(
  sorted: readonly T[],
  pageSize = 0,
  pageToken = '',
): { items: T[]; nextPageToken: string } {
  if (!Number.isInteger(pageSize) || pageSize < 0 || pageSize > MAX_PAGE)
    throw new NerveError(
      'INVALID_ARGUMENT',
      `page size (limit) must be an integer from 1 to ${MAX_PAGE} (0: ${DEFAULT_PAGE}), got ${echo(String(pageSize), 20)}`,
    );
  const size = pageSize || DEFAULT_PAGE;
  let after = '';
  if (pageToken) {
    after = Buffer.from(pageToken, 'base64url').toString('utf8');
    if (!after || Buffer.from(after).toString('base64url') !== pageToken)
      throw new NerveError(
        'INVALID_ARGUMENT',
        `invalid page token (cursor) ${echo(pageToken, 64)}: pass nextPageToken (nextCursor) of the page before`,
      );
  }
  const rest = sorted.filter((s) => s.name > after);
  const items = rest.slice(0, size);
  const nextPageToken =
    rest.length > size ? Buffer.from(items[items.length - 1].name).toString('base64url') : '';
  return { items, nextPageToken };
}
