/** One REST call against a cluster's API: its status and JSON body (204: an empty object). */
export async function restOn(apiBase: string, method: string, path: string, body?: unknown) {
  const res = await fetch(`${apiBase}${path}`, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  return {
    status: res.status,
    body: (res.status === 204 ? {} : await res.json()) as Record<string, unknown>,
  };
}
