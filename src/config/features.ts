/**
 * Feature flags: parts an operator can switch off without a new build (a dashboard not wanted in
 * production, an autoscaler while a platform's HPA scales instead). Set in the config file's `features:`
 * map, NERVE_FEATURES or --features (`name=on|off,…`, later sources win per name); an unknown name is a
 * settings error naming the known ones. Read at start; GET /features and Admin/GetFeatures show them.
 */
export const FEATURES = {
  /** The dashboard at GET /. */
  dashboard: true,
  /** The live feed: WebSocket /ws and Server-Sent Events /events. */
  liveFeed: true,
  /** The rendered API reference at /docs (/openapi.json stays). */
  apiDocs: true,
  /** Active health checks of instances (off: every instance stays `unknown`, routable). */
  activeHealthChecks: true,
  /** The autoscaler of engines whose runtime has an `autoscale` policy. */
  autoscaling: true,
  /** One retry budget per engine for every router (off: each router's budget alone). */
  fleetRetryBudget: true,
} as const;

export type FeatureName = keyof typeof FEATURES;
export type Features = Readonly<Record<FeatureName, boolean>>;

export const DEFAULT_FEATURES: Features = { ...FEATURES };

const NAMES = Object.keys(FEATURES) as FeatureName[];
const ON = new Set(['on', 'true', '1', 'yes', 'enabled']);
const OFF = new Set(['off', 'false', '0', 'no', 'disabled']);

export function isFeatureName(name: string): name is FeatureName {
  return (NAMES as string[]).includes(name);
}

/**
 * Applies `name=on|off` pairs (comma separated; a bare name means on) over `base`. Throws one message
 * per bad pair, all at once, each naming `source`.
 */
export function parseFeatures(raw: string, source: string, base: Features = DEFAULT_FEATURES): Features {
  const out: Record<string, boolean> = { ...base };
  const errors: string[] = [];
  for (const part of raw
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean)) {
    const [name, value = 'on'] = part.split('=', 2).map((s) => s.trim());
    if (!isFeatureName(name)) {
      errors.push(`${source}: no feature "${name}" (known: ${NAMES.join(', ')})`);
      continue;
    }
    const v = value.toLowerCase();
    if (ON.has(v)) out[name] = true;
    else if (OFF.has(v)) out[name] = false;
    else errors.push(`${source}: feature ${name} must be on or off, got "${value}"`);
  }
  if (errors.length > 0) throw new FeatureError(errors);
  return out as Features;
}

export class FeatureError extends Error {
  constructor(readonly errors: readonly string[]) {
    super(errors.join('; '));
  }
}
