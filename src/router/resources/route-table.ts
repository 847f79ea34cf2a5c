import { RouteTable } from '../../../gen/nerve/discovery/v1/resources';
import { ROUTE_TABLE_TYPE } from '../../protocol/type-urls';
import type { ResourceType } from './resource-type';

export function routeTableType(apply: (tables: readonly RouteTable[]) => void): ResourceType<RouteTable> {
  return {
    typeUrl: ROUTE_TABLE_TYPE,
    decode: (bytes) => RouteTable.decode(bytes),
    validate(tables) {
      if (tables.length > 1) return `expected one RouteTable, got ${tables.length}`;
      const owner = new Map<string, string>();
      for (const route of tables[0]?.routes ?? []) {
        if (!route.engine) return 'RouteTable: a route has no engine';
        for (const key of [
          ...route.authorities.map((a) => `authority "${a}"`),
          ...route.services.map((s) => `service "${s}"`),
        ]) {
          const other = owner.get(key);
          if (other && other !== route.engine)
            return `RouteTable: ${key} routes to both "${other}" and "${route.engine}"`;
          owner.set(key, route.engine);
        }
      }
      return undefined;
    },
    apply,
  };
}
