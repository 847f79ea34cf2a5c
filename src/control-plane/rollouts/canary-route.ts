import type { CanaryRoute, StringMatch } from '../../../gen/nerve/discovery/v1/resources';
import type { StringMatch as ModelMatch } from '../../model/call-match';
import { ACTIVE } from '../../model/rollout';
import type { ConfigStore } from '../../store/config-store';
import { ROLLOUTS_NS } from './rollout-module';

/**
 * What routers are told of an engine's rollout beside the version weights: its match rules and mirror
 * share, while it is active and has begun (a rollout waiting for confirm-rollout routes nothing yet).
 * Paused keeps them, as it keeps the weights; the end of the rollout takes them away.
 */
export function canaryRoute(store: ConfigStore, engine: string): CanaryRoute | undefined {
  for (const r of ROLLOUTS_NS.values(store)) {
    if (r.engine !== engine || !ACTIVE.has(r.state) || r.step < 0) continue;
    const match = r.match ?? [];
    if (match.length === 0 && r.mirror === undefined) return undefined;
    return {
      version: r.version,
      rollout: r.id,
      mirrorPercent: r.mirror?.percent ?? 0,
      match: match.map((m) => ({
        headers: proto(m.headers),
        cookies: proto(m.cookie),
      })),
    };
  }
  return undefined;
}

function proto(matches: Readonly<Record<string, ModelMatch>> | undefined): Record<string, StringMatch> {
  const out: Record<string, StringMatch> = {};
  for (const [name, m] of Object.entries(matches ?? {}))
    out[name] = m.regex !== undefined ? { regex: m.regex } : { exact: m.exact ?? '' };
  return out;
}
