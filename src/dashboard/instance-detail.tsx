import { useEffect, useState } from 'preact/hooks';
import { get, type InstanceHealth, type Series, type Transition } from './api';
import { Chart } from './chart';
import { ms, pct } from './format';

/** One instance: its health and why, its load, its last hour, its recent transitions and events. */
export function InstanceDetail(props: {
  engine: string;
  instance: string;
  health?: InstanceHealth;
  events: { id: number; at: string; text: string }[];
  onClose: () => void;
}) {
  const { engine, instance, health } = props;
  const [series, setSeries] = useState<Series[]>([]);
  const [transitions, setTransitions] = useState<Transition[]>([]);
  useEffect(() => {
    const q = `engine=${encodeURIComponent(engine)}&instance=${encodeURIComponent(instance)}`;
    void get<{ series: Series[] }>(`/metrics/history?${q}`)
      .then((h) => setSeries(h.series))
      .catch(() => undefined);
    void get<{ history?: Transition[] }>(
      `/health/${encodeURIComponent(engine)}?since=${Date.now() - 86_400_000}`,
    )
      .then((h) => setTransitions((h.history ?? []).filter((t) => t.instance === instance).reverse()))
      .catch(() => undefined);
  }, [engine, instance]);
  const line = (metric: string, label = metric) => {
    const s = series.find((x) => x.metric === metric);
    return s ? [{ label, points: s.points }] : [];
  };
  const c = health?.calls;
  return (
    <aside class="detail" data-testid="instance-detail">
      <div class="detail-head">
        <h2>
          {engine} / {instance}
        </h2>
        <button onClick={props.onClose} aria-label="close">
          ✕
        </button>
      </div>
      {health && (
        <p>
          <span class={`badge ${health.health}`}>{health.health}</span> {health.address} · version{' '}
          {health.version} · probe {ms(health.lastCheckLatencyMs)}
          {health.reasons.length > 0 && (
            <span class="why"> — {health.reasons.map((r) => r.message).join('; ')}</span>
          )}
        </p>
      )}
      <p class="muted">
        {c
          ? `${c.rps} rps · ${pct(c.errorRate)} errors · p50 ${ms(c.p50Ms)} · p95 ${ms(c.p95Ms)} · p99 ${ms(c.p99Ms)} · ${c.inFlight} in flight`
          : 'no calls reported'}
        {' · CPU '}
        {pct(health?.cpuUtilization)} · memory {pct(health?.memUtilization)}
      </p>
      <Chart title="requests / s" unit="" lines={line('rps')} />
      <Chart title="p99 (ms)" unit="" lines={line('p99Ms')} />
      <Chart title="CPU" unit="" lines={line('cpu')} />
      <h3>Health transitions</h3>
      <ul class="events">
        {transitions.length === 0 && <li class="muted">none in the last day</li>}
        {transitions.map((t) => (
          <li key={t.at + t.to}>
            <span class="muted">{new Date(t.at).toLocaleString()}</span> {t.from} → {t.to}: {t.reason}
          </li>
        ))}
      </ul>
      <h3>Recent events</h3>
      <ul class="events">
        {props.events.length === 0 && <li class="muted">none since the page opened</li>}
        {props.events.map((e) => (
          <li key={e.id}>
            <span class="muted">{new Date(e.at).toLocaleTimeString()}</span> {e.text}
          </li>
        ))}
      </ul>
    </aside>
  );
}
