import type { EngineSpec } from '../../../model/engine';
import { anyOf, type EnvoyObject } from './codec';

const ADS = { ads: {}, resource_api_version: 'V3' };

/**
 * Listener E for proxyless gRPC: an api_listener whose HttpConnectionManager takes its routes from RDS over
 * ADS, with the router filter last (gRFC A27). Envoy sidecars use the clusters and routes directly.
 */
export function listener(spec: EngineSpec): EnvoyObject {
  return {
    name: spec.name,
    api_listener: {
      api_listener: anyOf(
        'envoy.extensions.filters.network.http_connection_manager.v3.HttpConnectionManager',
        {
          stat_prefix: spec.name,
          rds: { config_source: ADS, route_config_name: spec.name },
          http_filters: [
            {
              name: 'envoy.filters.http.router',
              typed_config: anyOf('envoy.extensions.filters.http.router.v3.Router', {}),
            },
          ],
        },
      ),
    },
  };
}

export { ADS };
