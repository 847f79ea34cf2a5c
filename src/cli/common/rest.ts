import { UsageError } from './options';

const PREFIX = '/api/v1/nerve';

/** A control plane's REST base from a host base (http://host:3000) or the full base; API_PORT by default. */
export function apiBase(given: string | undefined, env: NodeJS.ProcessEnv = process.env): string {
  const raw = (given ?? env.NERVE_API ?? `http://127.0.0.1:${env.API_PORT || 3000}`).replace(/\/+$/, '');
  if (!/^https?:\/\/[^/\s]+/.test(raw))
    throw new UsageError(`--api ${JSON.stringify(raw)}: give a URL such as http://127.0.0.1:3000`);
  return raw.endsWith(PREFIX) ? raw : `${raw}${PREFIX}`;
}

interface ApiError {
  error?: { code?: string; message?: string; details?: string[] };
}

/** Calls the REST API (a string body goes as it is, as `contentType`); a refusal becomes an error with the API's own message and details. */
export async function call(
  api: string,
  method: string,
  path: string,
  body?: unknown,
  contentType = 'application/json',
): Promise<unknown> {
  let res: Response;
  try {
    res = await fetch(`${api.replace(/\/$/, '')}${path}`, {
      method,
      headers: body === undefined ? {} : { 'content-type': contentType },
      body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
    });
  } catch (err) {
    throw new Error(
      `cannot reach the control plane at ${api}: ${(err as Error).message} (set --api or NERVE_API)`,
      { cause: err },
    );
  }
  const text = await res.text();
  let json: unknown;
  try {
    json = text ? (JSON.parse(text) as unknown) : {};
  } catch {
    throw new Error(`${api} answered ${res.status} with no JSON: is it a Nerve control plane?`);
  }
  if (!res.ok) {
    const e = (json as ApiError).error;
    const details = e?.details?.length ? `\n  ${e.details.join('\n  ')}` : '';
    throw new Error(`${res.status} ${e?.code ?? ''}: ${e?.message ?? text}${details}`);
  }
  return json;
}
