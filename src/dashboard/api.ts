/** The REST API the dashboard reads, same origin. */
export const API = '/api/v1/nerve';

export interface Stats {
  rps: number;
  errorRate: number;
  p50Ms: number;
  p95Ms: number;
  p99Ms: number;
  inFlight: number;
  requests: number;
}

export interface Reason {
  code: string;
  message: string;
}

export interface InstanceHealth {
  id: string;
  address: string;
  version: string;
  health: string;
  reasons: Reason[];
  lastCheckLatencyMs: number;
  lastError: string;
  calls?: Stats;
  cpuUtilization?: number;
  memUtilization?: number;
}

export interface EngineHealth {
  name: string;
  status: string;
  rawStatus: string;
  healthyInstances: number;
  totalInstances: number;
  instances: InstanceHealth[];
}

export interface EngineView {
  name: string;
  namespace: string;
  versions: { name: string; weight: number }[];
  instances: { id: string; address: string; version: string; weight: number; health: string }[];
  policy: { strategy: string };
}

export interface EngineSummary extends Stats {
  name: string;
  namespace: string;
  instances: (Stats & { id: string; version: string; cpuUtilization?: number; memUtilization?: number })[];
}

export interface Circuit {
  state: string;
  openOn: number;
  reporters: number;
}

/** As GET /circuit-breakers and the feed's circuits topic show them. */
export interface EngineCircuits {
  engine: string;
  circuit: Circuit;
  instances: (Circuit & { id: string })[];
}

export interface XdsClient {
  nodeId: string;
  peer: string;
  connectedAt: string;
  types: { typeUrl: string; inSync: boolean; nack?: { error: string } }[];
}

export interface Transition {
  at: string;
  instance: string;
  from: string;
  to: string;
  reason: string;
}

export interface Series {
  engine: string;
  instance: string | null;
  metric: string;
  points: [number, number][];
}

const TOKEN_KEY = 'nerve-token';

/**
 * The credentials the dashboard sends when the control plane has authentication on: a JWT or an API
 * key, given once in the sign-in box or as `#token=…` in the address (then removed from it), kept for
 * this tab only (sessionStorage: closing the tab forgets it).
 */
export function token(): string | null {
  const m = /[#&]token=([^&]+)/.exec(location.hash);
  if (m) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, '', location.pathname + location.search);
  }
  return sessionStorage.getItem(TOKEN_KEY);
}

export function setToken(value: string): void {
  if (value) sessionStorage.setItem(TOKEN_KEY, value.trim());
  else sessionStorage.removeItem(TOKEN_KEY);
}

export function authHeaders(): Record<string, string> {
  const t = token();
  return t ? { authorization: `Bearer ${t}` } : {};
}

/** Thrown on 401 and 403: the dashboard asks for a (better) token. */
export class AuthRequired extends Error {}

export async function get<T>(path: string): Promise<T> {
  const res = await fetch(`${API}${path}`, { headers: authHeaders() });
  if (res.status === 401 || res.status === 403)
    throw new AuthRequired(
      res.status === 401 ? 'sign in: this control plane needs a token' : 'this token may not read that',
    );
  if (!res.ok && res.status !== 503) throw new Error(`${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}
