/**
 * Header lists as the router's HTTP/2 layer gives them: flat [name0, value0, name1, value1, …], in the
 * order received, duplicates kept; names are lowercase (HTTP/2), pseudo-headers first. Connection-specific
 * headers never leave the router (the connection drops them when encoding), so a list passes to the next
 * hop as it came.
 */
export type HeaderList = readonly string[];

/** The first value of `name`, or undefined. A scan: header lists are short, and this allocates nothing. */
export function headerValue(headers: HeaderList, name: string): string | undefined {
  for (let i = 0; i < headers.length; i += 2) if (headers[i] === name) return headers[i + 1];
  return undefined;
}

/** A copy without any `name` field (to replace it with a value of ours). */
export function withoutHeader(headers: HeaderList, name: string): string[] {
  const out: string[] = [];
  for (let i = 0; i < headers.length; i += 2) if (headers[i] !== name) out.push(headers[i], headers[i + 1]);
  return out;
}
