import { RE2JS } from 're2js';
import { NerveError } from '../../model/errors';
import { type Snapshot, servedType } from '../../model/snapshot';
import type { StreamStatus, TypeStatus } from './stream-state';

/*
 * CSDS (envoy.service.status.v3, gRFC A40): what each connected client holds, in the standard shape,
 * from the same per-stream state `/xds/clients` shows. Pure: the service turns requests into calls here.
 */

/** envoy.type.matcher.v3.StringMatcher as proto-loader gives it (oneofs on). */
export interface StringMatcher {
  match_pattern?: 'exact' | 'prefix' | 'suffix' | 'safe_regex' | 'contains';
  exact?: string;
  prefix?: string;
  suffix?: string;
  contains?: string;
  safe_regex?: { regex?: string } | null;
  ignore_case?: boolean;
}

export interface NodeMatcher {
  node_id?: StringMatcher | null;
  node_metadatas?: readonly unknown[];
}

export interface ClientStatusRequest {
  node_matchers?: readonly NodeMatcher[];
  exclude_resource_contents?: boolean;
}

interface Timestamp {
  seconds: number;
  nanos: number;
}

export interface GenericXdsConfig {
  type_url: string;
  name: string;
  version_info: string;
  xds_config?: { type_url: string; value: Buffer };
  config_status: 'SYNCED' | 'NOT_SENT' | 'STALE' | 'ERROR';
  client_status: 'REQUESTED' | 'ACKED' | 'NACKED';
  error_state?: { details: string; version_info: string; last_update_attempt: Timestamp };
}

export interface ClientConfig {
  node: { id: string };
  generic_xds_configs: GenericXdsConfig[];
}

/** A node id test from a StringMatcher; refuses what it cannot honour (INVALID_ARGUMENT). */
function stringTest(m: StringMatcher): (value: string) => boolean {
  const fold = m.ignore_case === true;
  const norm = (s: string) => (fold ? s.toLowerCase() : s);
  switch (m.match_pattern) {
    case 'exact':
      return (v) => norm(v) === norm(m.exact ?? '');
    case 'prefix':
      return (v) => norm(v).startsWith(norm(m.prefix ?? ''));
    case 'suffix':
      return (v) => norm(v).endsWith(norm(m.suffix ?? ''));
    case 'contains':
      return (v) => norm(v).includes(norm(m.contains ?? ''));
    case 'safe_regex': {
      let re: RE2JS;
      try {
        re = RE2JS.compile(m.safe_regex?.regex ?? '');
      } catch (err) {
        throw new NerveError(
          'INVALID_ARGUMENT',
          `node_id.safe_regex: not an RE2 expression: ${err instanceof Error ? err.message : String(err)}`,
        );
      }
      return (v) => re.matches(v);
    }
    default:
      throw new NerveError(
        'INVALID_ARGUMENT',
        'node_id: a StringMatcher needs one of exact, prefix, suffix, contains, safe_regex',
      );
  }
}

/** Whether a node id passes the request's matchers (any of them; none: every node). */
export function nodeFilter(request: ClientStatusRequest): (nodeId: string) => boolean {
  const matchers = request.node_matchers ?? [];
  const tests = matchers.map((m, i) => {
    if ((m.node_metadatas ?? []).length > 0)
      throw new NerveError(
        'INVALID_ARGUMENT',
        `node_matchers[${i}].node_metadatas: not supported (a stream keeps its node id, not its metadata)`,
      );
    return m.node_id ? stringTest(m.node_id) : () => true;
  });
  return (id) => tests.length === 0 || tests.some((t) => t(id));
}

function timestamp(ms: number): Timestamp {
  return { seconds: Math.floor(ms / 1000), nanos: (ms % 1000) * 1e6 };
}

/** Where a type stands on one stream, as CSDS names it. */
function standing(t: TypeStatus): Pick<GenericXdsConfig, 'config_status' | 'client_status'> {
  if (t.inSync) return { config_status: 'SYNCED', client_status: 'ACKED' };
  if (t.nack !== undefined && t.nack.version === t.sentVersion)
    return { config_status: 'ERROR', client_status: 'NACKED' };
  if (t.responses === 0) return { config_status: 'NOT_SENT', client_status: 'REQUESTED' };
  return { config_status: 'STALE', client_status: t.ackedVersion !== '' ? 'ACKED' : 'REQUESTED' };
}

/**
 * One ClientConfig per stream the filter passes: an entry per resource its subscription selects from
 * the served snapshot (one entry without a name for a type that selects none), with the version the
 * client last ACKed, SYNCED / STALE / NOT_SENT / ERROR, and a NACK's error. Contents go only with
 * SYNCED entries (what the client holds is then exactly the snapshot's), and not when excluded.
 */
export function clientStatus(
  request: ClientStatusRequest,
  streams: readonly StreamStatus[],
  snapshot: Snapshot,
): { config: ClientConfig[] } {
  const passes = nodeFilter(request);
  const config: ClientConfig[] = [];
  for (const s of streams) {
    if (!passes(s.nodeId)) continue;
    const entries: GenericXdsConfig[] = [];
    for (const t of s.types) {
      const state = standing(t);
      const base = {
        type_url: t.typeUrl,
        version_info: t.ackedVersion,
        ...state,
        ...(state.config_status === 'ERROR' &&
          t.nack && {
            error_state: {
              details: t.nack.error,
              version_info: t.nack.version,
              last_update_attempt: timestamp(t.nack.atMs),
            },
          }),
      };
      const resources = servedType(snapshot, t.typeUrl, s.ttl === true)?.resources;
      const names = t.wildcard ? [...(resources?.keys() ?? [])] : t.subscribed;
      if (names.length === 0) entries.push({ ...base, name: '' });
      for (const name of names) {
        const r = resources?.get(name);
        const withContents =
          r !== undefined && state.config_status === 'SYNCED' && !request.exclude_resource_contents;
        entries.push({
          ...base,
          name,
          ...(withContents && { xds_config: { type_url: t.typeUrl, value: r.body as Buffer } }),
        });
      }
    }
    config.push({ node: { id: s.nodeId }, generic_xds_configs: entries });
  }
  return { config };
}
