import type { GateAnswer, Rollout } from '../../model/rollout';
import type { GateType, Webhook } from '../../model/rollout-input';

/** Flagger's phase names, as a gate's payload carries them. */
export type GatePhase = 'Initializing' | 'Progressing' | 'Promoting' | 'Succeeded' | 'Failed';

const BACKOFF_MS = 500;

/**
 * One gate asked: a POST of `{name, namespace, engine, version, phase, type, weight, metadata}`
 * (Flagger's payload, with Nerve's engine and version beside it), each attempt bounded by the gate's
 * `timeoutMs`. A timeout, a refused connection or a 5xx is tried again up to `retries` times (500 ms,
 * then doubling); any other answer is final. 2xx is yes.
 */
export async function askGate(
  w: Webhook,
  r: Rollout,
  phase: GatePhase,
  extra: Record<string, string> = {},
): Promise<GateAnswer> {
  const body = JSON.stringify({
    name: r.id,
    namespace: r.engine,
    engine: r.engine,
    version: r.version,
    phase,
    type: w.type,
    weight: r.weight,
    metadata: { ...w.metadata, ...extra },
  });
  let last: GateAnswer = { name: w.name, type: w.type, ok: false, status: 0, attempts: 0 };
  for (let attempt = 1; attempt <= w.retries + 1; attempt++) {
    if (attempt > 1) await new Promise((res) => setTimeout(res, BACKOFF_MS * 2 ** (attempt - 2)));
    try {
      const res = await fetch(w.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(w.timeoutMs),
      });
      const text = (await res.text().catch(() => '')).slice(0, 200);
      last = {
        name: w.name,
        type: w.type,
        ok: res.status >= 200 && res.status < 300,
        status: res.status,
        ...(res.status >= 300 && text && { error: text }),
        attempts: attempt,
      };
      if (res.status < 500) return last;
    } catch (err) {
      const e = err as Error & { cause?: { code?: string } };
      last = {
        name: w.name,
        type: w.type,
        ok: false,
        status: 0,
        error:
          e.name === 'TimeoutError' ? `no answer within ${w.timeoutMs} ms` : (e.cause?.code ?? e.message),
        attempts: attempt,
      };
    }
  }
  return last;
}

/**
 * The gates of one type, asked in order: the first that says no (for `rollback`: the first that says
 * yes) is the answer; undefined when none did (or there are none). Every answer is pushed to `heard`.
 */
export async function firstNo(
  r: Rollout,
  type: GateType,
  phase: GatePhase,
  heard: GateAnswer[] = [],
): Promise<GateAnswer | undefined> {
  for (const w of (r.webhooks ?? []).filter((x) => x.type === type)) {
    const a = await askGate(w, r, phase);
    heard.push(a);
    if (type === 'rollback' ? a.ok : !a.ok) return a;
  }
  return undefined;
}

/** Tells the `event` gates of an event, without waiting for them. */
export function tellEvents(r: Rollout, phase: GatePhase, message: string): void {
  for (const w of (r.webhooks ?? []).filter((x) => x.type === 'event'))
    void askGate(w, r, phase, { eventMessage: message, eventType: 'Normal', timestamp: String(Date.now()) });
}

/** A gate's answer in words. */
export function said(a: GateAnswer): string {
  const answer = a.status > 0 ? `HTTP ${a.status}` : (a.error ?? 'no answer');
  return `${a.type} gate ${a.name} answered ${answer}${a.status > 0 && a.error ? `: ${a.error}` : ''}`;
}
