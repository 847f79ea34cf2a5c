/** A rollout as GET /engines/:name/rollouts and the feed's rollouts topic show it (the fields shown). */
export interface RolloutItem {
  id: string;
  engine: string;
  version: string;
  state: string;
  weight: number;
  createdAt: string;
  match?: unknown[];
  mirror?: { percent: number };
  analysis?: { baseline?: boolean; syntheticLoad?: { rps: number } };
  history: {
    at: string;
    weight: number;
    verdict: string;
    reason?: string;
    evidence?: Evidence;
    gate?: { name: string; type: string; ok: boolean; status: number };
  }[];
}

interface Side {
  requests: number;
  errorRate: number;
  p99Ms: number;
}

interface Evidence {
  reason: string;
  canary: Side;
  stable: Side;
  synthetic?: number;
  comparedWith?: string;
  load?: { ratio: number | null; measure: string; comparable: boolean };
  metrics?: { name: string; value: number | null; verdict: string }[];
}

const side = (name: string, s: Side) =>
  `${name} ${s.requests} calls, ${Math.round(s.errorRate * 1000) / 10} % errors, p99 ${Math.round(s.p99Ms)} ms`;

/** The latest check's evidence in one line: both sides, their load, synthetic calls and metrics. */
function evidenceLine(e: Evidence): string {
  const parts = [side('canary', e.canary), side(e.comparedWith ?? 'stable', e.stable)];
  if (e.load && e.load.ratio !== null)
    parts.push(
      `load ×${e.load.ratio} (${e.load.measure.replace('_', ' ')})${e.load.comparable ? '' : ' unlike'}`,
    );
  if (e.synthetic) parts.push(`${e.synthetic} synthetic`);
  for (const m of e.metrics ?? []) parts.push(`${m.name} ${m.value ?? 'no data'} ${m.verdict}`);
  return parts.join(' · ');
}

/** How the rollout reaches its canary besides the weight: match rules, mirroring, a baseline. */
function routingOf(r: RolloutItem): string {
  const parts: string[] = [];
  if (r.match && r.match.length > 0)
    parts.push(`${r.match.length} match rule${r.match.length > 1 ? 's' : ''}`);
  if (r.mirror) parts.push(`mirror ${r.mirror.percent} %`);
  if (r.analysis?.baseline) parts.push('baseline');
  if (r.analysis?.syntheticLoad) parts.push(`synthetic ${r.analysis.syntheticLoad.rps}/s`);
  return parts.join(', ') || 'weight';
}

const ACTIVE = new Set(['progressing', 'paused']);

/**
 * Rollouts under way and the last few ended: where each stands, and its latest word (a check's verdict
 * and evidence, a gate's answer, why it ended), as its history records it.
 */
export function RolloutsPanel({ rollouts }: { rollouts: RolloutItem[] }) {
  const shown = [...rollouts]
    .sort(
      (a, b) =>
        Number(ACTIVE.has(b.state)) - Number(ACTIVE.has(a.state)) || (a.createdAt < b.createdAt ? 1 : -1),
    )
    .slice(0, 10);
  return (
    <section data-testid="rollouts">
      <h2>Rollouts</h2>
      {shown.length === 0 && <p class="muted">No rollout yet.</p>}
      {shown.length > 0 && (
        <div class="scroll">
          <table>
            <thead>
              <tr>
                <th>engine</th>
                <th>version</th>
                <th>state</th>
                <th>weight</th>
                <th>routing</th>
                <th>latest</th>
                <th>evidence</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((r) => {
                const last = r.history[r.history.length - 1];
                const word = last
                  ? `${last.verdict}: ${last.reason ?? last.evidence?.reason ?? ''}`
                  : 'starting';
                const judged = [...r.history].reverse().find((h) => h.evidence !== undefined);
                return (
                  <tr key={r.id} data-rollout={r.id}>
                    <td>{r.engine}</td>
                    <td>{r.version}</td>
                    <td>
                      <span
                        class={`badge ${r.state === 'rolled_back' || r.state === 'aborted' ? 'unhealthy' : r.state === 'paused' ? 'degraded' : 'healthy'}`}
                      >
                        {r.state}
                      </span>
                    </td>
                    <td>{r.weight} %</td>
                    <td class="routing">{routingOf(r)}</td>
                    <td class="why">{word}</td>
                    <td class="evidence">{judged?.evidence ? evidenceLine(judged.evidence) : ''}</td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
