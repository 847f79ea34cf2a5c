/** A rollout as GET /engines/:name/rollouts and the feed's rollouts topic show it (the fields shown). */
export interface RolloutItem {
  id: string;
  engine: string;
  version: string;
  state: string;
  weight: number;
  createdAt: string;
  history: {
    at: string;
    weight: number;
    verdict: string;
    reason?: string;
    evidence?: { reason: string };
    gate?: { name: string; type: string; ok: boolean; status: number };
  }[];
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
                <th>latest</th>
              </tr>
            </thead>
            <tbody>
              {shown.map((r) => {
                const last = r.history[r.history.length - 1];
                const word = last
                  ? `${last.verdict}: ${last.reason ?? last.evidence?.reason ?? ''}`
                  : 'starting';
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
                    <td class="why">{word}</td>
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
