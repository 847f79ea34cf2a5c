import { render } from 'preact';
import { useEffect, useMemo, useState } from 'preact/hooks';
import {
  type EngineCircuits,
  type EngineHealth,
  type EngineSummary,
  type EngineView,
  get,
  setToken,
  type Series,
  type Stats,
  type XdsClient,
} from './api';
import { Chart } from './chart';
import { Feed, type FeedMessage, type FeedState } from './feed';
import { ago, circuitName, ms, num, pct } from './format';
import { InstanceDetail } from './instance-detail';
import { type AlertItem, AlertsPanel } from './alerts-panel';
import { type RolloutItem, RolloutsPanel } from './rollouts-panel';

interface FleetEvent {
  id: number;
  at: string;
  text: string;
  engine?: string;
}

interface Fleet {
  engines: Record<string, EngineView>;
  health: Record<string, EngineHealth>;
  summary: Record<string, EngineSummary>;
  circuits: Record<string, EngineCircuits>;
  overall?: Stats;
  status: string;
  clients: XdsClient[];
  events: FleetEvent[];
  alerts: AlertItem[];
  rollouts: RolloutItem[];
}

const EMPTY: Fleet = {
  engines: {},
  health: {},
  summary: {},
  circuits: {},
  status: 'unknown',
  clients: [],
  events: [],
  alerts: [],
  rollouts: [],
};

/** Loads everything the page shows from the REST API (at start, and after a resync). */
async function load(): Promise<Partial<Fleet>> {
  const [engines, health, summary, circuits, clients, alerts] = await Promise.all([
    get<{ engines: EngineView[] }>('/engines?limit=1000'),
    get<{ status: string }>('/health'),
    get<{ overall: Stats; engines: EngineSummary[] }>('/metrics/summary'),
    get<{ engines: EngineCircuits[] }>('/circuit-breakers'),
    get<{ clients: XdsClient[] }>('/xds/clients'),
    get<{ alerts: AlertItem[] }>('/alerts'),
  ]);
  const deep = await Promise.all(
    engines.engines.map((e) => get<EngineHealth>(`/health/${encodeURIComponent(e.name)}`)),
  );
  const rollouts = await Promise.all(
    engines.engines.map((e) =>
      get<{ rollouts: RolloutItem[] }>(`/engines/${encodeURIComponent(e.name)}/rollouts`).catch(() => ({
        rollouts: [],
      })),
    ),
  );
  return {
    engines: Object.fromEntries(engines.engines.map((e) => [e.name, e])),
    health: Object.fromEntries(deep.map((h) => [h.name, h])),
    summary: Object.fromEntries(summary.engines.map((s) => [s.name, s])),
    circuits: Object.fromEntries((circuits.engines ?? []).map((c) => [c.engine, c])),
    overall: summary.overall,
    status: health.status,
    clients: clients.clients,
    alerts: alerts.alerts,
    rollouts: rollouts.flatMap((r) => r.rollouts),
  };
}

/**
 * An instance's health change, shown at once; the engine's whole health (its status, every reason)
 * follows in its own message within a moment.
 */
function withChange(
  health: Record<string, EngineHealth>,
  d: Record<string, unknown>,
): Record<string, EngineHealth> {
  const engine = health[String(d.engine)];
  if (!engine) return health;
  const to = String(d.to);
  const instances = engine.instances.map((i) =>
    i.id !== d.instance || i.health === 'draining'
      ? i
      : {
          ...i,
          health: to,
          reasons:
            to === 'unhealthy'
              ? [{ code: 'probe_failing', message: `health probe failing: ${String(d.lastError)}` }]
              : [],
        },
  );
  return { ...health, [engine.name]: { ...engine, instances } };
}

function describe(m: FeedMessage): string | undefined {
  const d = m.data as Record<string, unknown>;
  if (m.topic === 'health' && d.change)
    return `${d.engine}/${d.instance} is ${d.to}${d.lastError ? `: ${d.lastError}` : ''}`;
  if (m.topic === 'events' && d.kind === 'config_changed')
    return `config v${d.version} by ${d.actor}: ${d.summary}`;
  if (m.topic === 'circuits') return `circuits of ${d.engine} changed`;
  return undefined;
}

function App() {
  const [fleet, setFleet] = useState<Fleet>(EMPTY);
  const [feedState, setFeedState] = useState<FeedState>('connecting');
  const [history, setHistory] = useState<Series[]>([]);
  const [selected, setSelected] = useState<{ engine: string; instance: string } | undefined>();
  const [error, setError] = useState<string | undefined>();

  const reload = () =>
    load()
      .then((f) => {
        setFleet((old) => ({ ...old, ...f }));
        setError(undefined);
      })
      .catch((e: unknown) => setError(e instanceof Error ? e.message : String(e)));
  const loadHistory = () =>
    get<{ series: Series[] }>('/metrics/history?metric=rps&metric=p99Ms&metric=errorRate')
      .then((h) => setHistory(h.series))
      .catch(() => undefined);

  useEffect(() => {
    void reload();
    void loadHistory();
    const every = setInterval(() => {
      void loadHistory();
      get<{ clients: XdsClient[] }>('/xds/clients')
        .then((c) => setFleet((f) => ({ ...f, clients: c.clients })))
        .catch(() => undefined);
    }, 30_000);
    const feed = new Feed(
      ['metrics', 'health', 'events', 'circuits', 'alerts', 'rollouts'],
      onMessage,
      setFeedState,
      () => void reload(),
    );
    feed.start();
    return () => {
      clearInterval(every);
      feed.stop();
    };
  }, []);

  function onMessage(m: FeedMessage) {
    const d = m.data as Record<string, unknown>;
    setFleet((f) => {
      const next = { ...f };
      if (m.topic === 'metrics') {
        if (d.scope === 'fleet') next.overall = d.overall as Stats;
        else next.summary = { ...f.summary, [String(d.name)]: d as unknown as EngineSummary };
      } else if (m.topic === 'health') {
        if (d.scope === 'fleet') next.status = String(d.status);
        else if (!d.change) next.health = { ...f.health, [String(d.name)]: d as unknown as EngineHealth };
        else next.health = withChange(f.health, d);
      } else if (m.topic === 'alerts') {
        const a = d as unknown as AlertItem;
        next.alerts = [a, ...f.alerts.filter((x) => x.id !== a.id)];
      } else if (m.topic === 'rollouts') {
        const r = d as unknown as RolloutItem;
        next.rollouts = [r, ...f.rollouts.filter((x) => x.id !== r.id)];
      } else if (m.topic === 'circuits') {
        next.circuits = { ...f.circuits, [String(d.engine)]: d as unknown as EngineCircuits };
      } else if (m.topic === 'events' && (d.kind === 'engine_updated' || d.kind === 'engine_deleted')) {
        void reload();
      }
      const text = describe(m);
      if (text)
        next.events = [{ id: m.id, at: m.at, text, engine: d.engine as string }, ...f.events].slice(0, 50);
      return next;
    });
  }

  const names = Object.keys(fleet.engines).sort();
  const o = fleet.overall;
  const lines = (metric: string) =>
    history
      .filter((s) => s.metric === metric && s.instance === null)
      .map((s) => ({ label: s.engine, points: s.points }));
  const healthyEngines = names.filter((n) => fleet.health[n]?.status === 'healthy').length;

  return (
    <div class="page">
      <header>
        <h1>Nerve</h1>
        <span class={`badge ${fleet.status}`} data-testid="fleet-status">
          {fleet.status}
        </span>
        <span class={`live ${feedState}`} title="live feed">
          {feedState === 'live' ? '● live' : `○ ${feedState}`}
        </span>
        {error && <span class="error">{error}</span>}
        {error?.startsWith('sign in') || error?.startsWith('this token') ? <SignIn /> : null}
      </header>

      <section class="cards">
        <Card label="engines healthy" value={`${healthyEngines} / ${names.length}`} />
        <Card label="requests / s" value={num(o?.rps)} />
        <Card label="error rate" value={pct(o?.errorRate)} />
        <Card label="p50 · p95 · p99" value={`${ms(o?.p50Ms)} · ${ms(o?.p95Ms)} · ${ms(o?.p99Ms)}`} />
        <Card label="in flight" value={num(o?.inFlight, 0)} />
        <Card label="data planes" value={String(fleet.clients.length)} />
      </section>

      <section class="charts">
        <Chart title="requests / s (last hour)" unit="" lines={lines('rps')} />
        <Chart title="p99 latency (ms)" unit="" lines={lines('p99Ms')} />
      </section>

      <AlertsPanel alerts={fleet.alerts} />

      <RolloutsPanel rollouts={fleet.rollouts} />

      <section>
        <h2>Engines</h2>
        {names.length === 0 && <p class="muted">No engines configured yet.</p>}
        {names.map((name) => (
          <EngineCard
            key={name}
            view={fleet.engines[name]}
            health={fleet.health[name]}
            summary={fleet.summary[name]}
            circuits={fleet.circuits[name]}
            onSelect={(instance) => setSelected({ engine: name, instance })}
          />
        ))}
      </section>

      <section class="split">
        <div>
          <h2>Data planes</h2>
          <table>
            <thead>
              <tr>
                <th>node</th>
                <th>peer</th>
                <th>connected</th>
                <th>in sync</th>
              </tr>
            </thead>
            <tbody>
              {fleet.clients.map((c) => {
                const nack = c.types.find((t) => t.nack);
                return (
                  <tr key={c.nodeId + c.peer}>
                    <td>{c.nodeId}</td>
                    <td class="muted">{c.peer}</td>
                    <td>{ago(c.connectedAt)}</td>
                    <td>
                      {nack ? (
                        <span class="bad">NACK: {nack.nack?.error}</span>
                      ) : c.types.every((t) => t.inSync) ? (
                        'yes'
                      ) : (
                        'catching up'
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
        <div>
          <h2>Recent events</h2>
          <ul class="events" data-testid="events">
            {fleet.events.length === 0 && (
              <li class="muted">Nothing yet: changes appear here as they happen.</li>
            )}
            {fleet.events.map((e) => (
              <li key={e.id}>
                <span class="muted">{new Date(e.at).toLocaleTimeString()}</span> {e.text}
              </li>
            ))}
          </ul>
        </div>
      </section>

      {selected && (
        <InstanceDetail
          engine={selected.engine}
          instance={selected.instance}
          health={fleet.health[selected.engine]?.instances.find((i) => i.id === selected.instance)}
          events={fleet.events.filter(
            (e) => e.engine === selected.engine && e.text.includes(selected.instance),
          )}
          onClose={() => setSelected(undefined)}
        />
      )}
    </div>
  );
}

/** A token box: shown when the API answers 401 or 403; the page reloads with the new token. */
function SignIn() {
  const [value, setValue] = useState('');
  return (
    <form
      class="sign-in"
      onSubmit={(e) => {
        e.preventDefault();
        setToken(value);
        location.reload();
      }}
    >
      <input
        type="password"
        placeholder="JWT or API key"
        aria-label="token"
        value={value}
        onInput={(e) => setValue((e.target as HTMLInputElement).value)}
      />
      <button type="submit">sign in</button>
    </form>
  );
}

function Card({ label, value }: { label: string; value: string }) {
  return (
    <div class="card">
      <div class="value">{value}</div>
      <div class="label">{label}</div>
    </div>
  );
}

function EngineCard(props: {
  view: EngineView;
  health?: EngineHealth;
  summary?: EngineSummary;
  circuits?: EngineCircuits;
  onSelect: (instance: string) => void;
}) {
  const { view, health, summary, circuits } = props;
  const status = health?.status ?? 'unknown';
  const byId = useMemo(() => new Map((summary?.instances ?? []).map((i) => [i.id, i])), [summary]);
  const healthById = useMemo(() => new Map((health?.instances ?? []).map((i) => [i.id, i])), [health]);
  const circuitById = useMemo(() => new Map((circuits?.instances ?? []).map((c) => [c.id, c])), [circuits]);
  return (
    <article class="engine" data-engine={view.name}>
      <div class="engine-head">
        <h3>{view.name}</h3>
        <span class={`badge ${status}`} data-testid={`engine-status-${view.name}`}>
          {status}
        </span>
        {view.namespace !== 'default' && <span class="muted">ns {view.namespace}</span>}
        <span class="muted">
          {view.policy.strategy} · versions {view.versions.map((v) => `${v.name} ${v.weight}`).join(', ')}
          {circuits && ` · circuit ${circuitName(circuits.circuit?.state)}`}
        </span>
        <span class="figures">
          {num(summary?.rps)} rps · {pct(summary?.errorRate)} errors · p50 {ms(summary?.p50Ms)} · p95{' '}
          {ms(summary?.p95Ms)} · p99 {ms(summary?.p99Ms)}
        </span>
      </div>
      <div class="scroll">
        <table>
          <thead>
            <tr>
              <th>instance</th>
              <th>version</th>
              <th>weight</th>
              <th>health</th>
              <th>why</th>
              <th>rps</th>
              <th>errors</th>
              <th>p99</th>
              <th>CPU</th>
              <th>memory</th>
              <th>circuit</th>
            </tr>
          </thead>
          <tbody>
            {view.instances.map((i) => {
              const h = healthById.get(i.id);
              const s = byId.get(i.id);
              const c = circuitById.get(i.id);
              const state = h?.health ?? i.health;
              return (
                <tr key={i.id} class="clickable" onClick={() => props.onSelect(i.id)} data-instance={i.id}>
                  <td>{i.id}</td>
                  <td>{i.version}</td>
                  <td>{i.weight}</td>
                  <td>
                    <span class={`badge ${state}`} data-testid={`instance-health-${i.id}`}>
                      {state}
                    </span>
                  </td>
                  <td class="why">{h?.reasons.map((r) => r.message).join('; ') || '–'}</td>
                  <td>{num(s?.rps)}</td>
                  <td>{pct(s?.errorRate)}</td>
                  <td>{ms(s?.p99Ms)}</td>
                  <td>{pct(s?.cpuUtilization ?? h?.cpuUtilization)}</td>
                  <td>{pct(s?.memUtilization ?? h?.memUtilization)}</td>
                  <td>{c ? circuitName(c.state) : 'closed'}</td>
                </tr>
              );
            })}
          </tbody>
        </table>
      </div>
    </article>
  );
}

const root = document.getElementById('app')!;
root.textContent = ''; // the "loading" line
render(<App />, root);
