/**
 * A caller's value as an error message or log line shows it: quoted, and cut past `max` characters with
 * its length said. A 9,000-character name must not turn NOT_FOUND into a metadata-size error, nor a
 * 100 KB node id fill a log line.
 */
export function echo(value: string, max = 128): string {
  if (value.length <= max) return JSON.stringify(value);
  return `${JSON.stringify(value.slice(0, max))}… (${value.length} characters)`;
}
