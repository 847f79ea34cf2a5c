/** The REST API the dashboard reads (DESIGN §2b), same origin. */
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

export async function get<T>(path: string): Promise<T> {
  const res = await fetch(`${API}${path}`);
  if (!res.ok && res.status !== 503) throw new Error(`${path}: HTTP ${res.status}`);
  return (await res.json()) as T;
}
