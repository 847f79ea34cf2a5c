import { useState } from 'preact/hooks';
import { API, authHeaders } from './api';

/** An alert as GET /alerts and the feed's alerts topic show it. */
export interface AlertItem {
  id: string;
  rule: string;
  severity: string;
  state: string;
  engine: string | null;
  instance: string | null;
  summary: string;
  startedAt: string | null;
  acknowledgedBy: string | null;
  /** What the rule's actions did for this firing (absent from older control planes). */
  actions?: { index: number; type: string; state: string; reason: string }[];
}

async function post(path: string, body?: unknown): Promise<string | undefined> {
  const res = await fetch(`${API}${path}`, {
    method: 'POST',
    headers: { ...authHeaders(), ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  if (res.ok) return undefined;
  const err = (await res.json().catch(() => ({}))) as { error?: { message?: string } };
  return err.error?.message ?? `HTTP ${res.status}`;
}

/** Open alerts with what an operator does about them: acknowledge (stops repeats), silence for an hour. */
export function AlertsPanel({ alerts }: { alerts: AlertItem[] }) {
  const [error, setError] = useState<string | undefined>();
  const open = alerts.filter((a) => a.state === 'firing' || a.state === 'acknowledged');
  const act = async (p: Promise<string | undefined>) => setError(await p);
  const silence = (a: AlertItem) =>
    post('/silences', {
      id: `s-${Date.now().toString(36)}`,
      matchers: [
        { label: 'rule', value: a.rule },
        ...(a.engine ? [{ label: 'engine', value: a.engine }] : []),
        ...(a.instance ? [{ label: 'instance', value: a.instance }] : []),
      ],
      endsAt: new Date(Date.now() + 3_600_000).toISOString(),
      comment: 'silenced from the dashboard for 1 h',
    });
  return (
    <section data-testid="alerts">
      <h2>Alerts</h2>
      {error && <p class="error">{error}</p>}
      {open.length === 0 && <p class="muted">Nothing firing.</p>}
      {open.length > 0 && (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>severity</th>
                <th>rule</th>
                <th>where</th>
                <th>what</th>
                <th>since</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {open.map((a) => (
                <tr key={a.id} data-alert={a.id}>
                  <td>
                    <span
                      class={`badge ${a.severity === 'critical' || a.severity === 'error' ? 'unhealthy' : 'degraded'}`}
                    >
                      {a.severity}
                    </span>
                  </td>
                  <td>{a.rule}</td>
                  <td>{[a.engine, a.instance].filter(Boolean).join('/') || 'fleet'}</td>
                  <td class="why">
                    {a.summary}
                    {(a.actions ?? []).map((x) => (
                      <div key={x.index} class="muted" data-testid="alert-action">
                        action {x.type}: {x.state} ({x.reason})
                        {x.state === 'awaiting-approval' && (
                          <button
                            onClick={() =>
                              void act(post(`/alerts/${encodeURIComponent(a.id)}/actions/${x.index}/approve`))
                            }
                          >
                            Approve
                          </button>
                        )}
                      </div>
                    ))}
                  </td>
                  <td>{a.startedAt ? new Date(a.startedAt).toLocaleTimeString() : ''}</td>
                  <td>
                    {a.state === 'acknowledged' ? (
                      <span class="muted" data-testid="acknowledged">
                        acknowledged by {a.acknowledgedBy}
                      </span>
                    ) : (
                      <button onClick={() => void act(post(`/alerts/${encodeURIComponent(a.id)}/ack`))}>
                        Acknowledge
                      </button>
                    )}{' '}
                    <button onClick={() => void act(silence(a))}>Silence 1 h</button>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
