import type { EngineSpec, InstanceSpec } from '../../model/engine';
import { findInstance, updateInstance, withInstances } from '../../model/engine';
import type { CheckState } from '../../model/health';
import { defaultPolicy } from '../../model/policy';
import { parseEngineSpec } from '../../model/validate';
import { type ConfigStore, updateEngine } from '../../store/config-store';
import type { CircuitBoard } from '../circuits/circuit-board';
import type { LoadStats } from '../reports/load-stats';
import type { StreamStatus } from '../xds/stream-state';
import { AdminError } from './admin-error';
import { CircuitAdmin } from './circuit-admin';
import { effectiveHealth, engineHealth, systemHealth } from './health-report';
import type { EngineView, HealthReport } from './views';

export interface AdminDeps {
  readonly store: ConfigStore;
  readonly checkState: (engine: string, instanceId: string) => CheckState;
  readonly loads: LoadStats;
  readonly circuits: CircuitBoard;
  readonly xdsClients: () => StreamStatus[];
  /** Where xDS clients reach this control plane (bind host and port). */
  readonly xdsEndpoint: () => { host: string; port: number };
}

export interface AddInstanceInput {
  readonly engine: string;
  readonly id: string;
  readonly address: string;
  readonly version?: string;
  readonly weight?: number;
  readonly priority?: number;
  readonly createEngine?: boolean;
}

const MAX_PAGE = 1000;

/** Admin operations, one implementation behind both the gRPC Admin service and the REST bridge. */
export class AdminService {
  readonly circuits: CircuitAdmin;

  constructor(private readonly deps: AdminDeps) {
    this.circuits = new CircuitAdmin(deps.store, deps.circuits);
  }

  async listEngines(
    pageSize = 100,
    pageToken = '',
  ): Promise<{ engines: EngineView[]; nextPageToken: string }> {
    if (!Number.isInteger(pageSize) || pageSize < 0)
      throw new AdminError('INVALID_ARGUMENT', 'page size must be a non-negative integer');
    const size = Math.min(pageSize || 100, MAX_PAGE);
    let after = '';
    if (pageToken) {
      after = Buffer.from(pageToken, 'base64url').toString('utf8');
      if (!after) throw new AdminError('INVALID_ARGUMENT', `invalid page token "${pageToken}"`);
    }
    const all = (await this.deps.store.list()).filter((s) => s.name > after);
    const page = all.slice(0, size);
    const nextPageToken =
      all.length > size ? Buffer.from(page[page.length - 1].name).toString('base64url') : '';
    return { engines: page.map((s) => this.view(s)), nextPageToken };
  }

  async getEngine(name: string): Promise<EngineView> {
    return this.view(await this.require(name));
  }

  async setInstanceWeight(engine: string, instanceId: string, weight: number): Promise<EngineView> {
    if (!Number.isInteger(weight) || weight < 0 || weight > 1_000_000) {
      throw new AdminError('INVALID_ARGUMENT', `weight must be an integer from 0 to 1000000, got ${weight}`);
    }
    return this.changeInstance(engine, instanceId, (i) => ({ ...i, weight }));
  }

  async drainInstance(engine: string, instanceId: string): Promise<EngineView> {
    return this.changeInstance(engine, instanceId, (i) => ({ ...i, draining: true }));
  }

  async addInstance(input: AddInstanceInput): Promise<EngineView> {
    const spec = await updateEngine(this.deps.store, input.engine, (current) => {
      if (!current && !input.createEngine)
        throw new AdminError(
          'NOT_FOUND',
          `engine "${input.engine}" not found (set create_engine to create it)`,
        );
      const base = current ?? this.newEngine(input.engine, input.version);
      if (findInstance(base, input.id))
        throw new AdminError(
          'ALREADY_EXISTS',
          `engine "${input.engine}" already has an instance "${input.id}"`,
        );
      let versions = base.versions;
      if (input.version && !versions.some((v) => v.name === input.version)) {
        if (current)
          throw new AdminError(
            'FAILED_PRECONDITION',
            `engine "${input.engine}" has no version "${input.version}" (has: ${versions.map((v) => v.name).join(', ')})`,
          );
        versions = [{ name: input.version, weight: 100 }];
      }
      const instance = {
        id: input.id,
        address: input.address,
        version: input.version || versions[0].name,
        weight: input.weight ?? 100,
        priority: input.priority ?? 0,
        draining: false,
      };
      return this.validated({ ...base, versions, instances: [...base.instances, instance] });
    });
    return this.view(spec!);
  }

  async removeInstance(engine: string, instanceId: string): Promise<EngineView> {
    const spec = await updateEngine(this.deps.store, engine, (current) => {
      if (!current) throw new AdminError('NOT_FOUND', `engine "${engine}" not found`);
      if (!findInstance(current, instanceId))
        throw new AdminError('NOT_FOUND', `engine "${engine}" has no instance "${instanceId}"`);
      return withInstances(
        current,
        current.instances.filter((i) => i.id !== instanceId),
      );
    });
    return this.view(spec!);
  }

  async health(engine?: string): Promise<HealthReport> {
    const specs = engine ? [await this.require(engine)] : await this.deps.store.list();
    return systemHealth(specs.map((s) => engineHealth(s, (id) => this.deps.checkState(s.name, id))));
  }

  xdsClients(): StreamStatus[] {
    return this.deps.xdsClients();
  }

  /**
   * A gRPC xDS bootstrap (gRFC A27) for this control plane: set it as GRPC_XDS_BOOTSTRAP_CONFIG and
   * `xds:///<engine>` works. `host` replaces a wildcard bind address with one the client can reach.
   */
  bootstrap(nodeId: string, host: string): object {
    if (!/^[\w.:-]{1,128}$/.test(nodeId))
      throw new AdminError(
        'INVALID_ARGUMENT',
        `node id must be 1-128 letters, digits, ".", ":", "_" or "-", got "${nodeId}"`,
      );
    const endpoint = this.deps.xdsEndpoint();
    const bindHost = endpoint.host === '0.0.0.0' || endpoint.host === '::' ? host : endpoint.host;
    const uriHost = bindHost.includes(':') ? `[${bindHost}]` : bindHost;
    return {
      xds_servers: [
        {
          server_uri: `${uriHost}:${endpoint.port}`,
          channel_creds: [{ type: 'insecure' }],
          server_features: ['xds_v3'],
        },
      ],
      node: { id: nodeId, cluster: 'nerve-clients', locality: {} },
    };
  }

  view(spec: EngineSpec): EngineView {
    return {
      name: spec.name,
      versions: spec.versions,
      instances: spec.instances.map((i) => ({
        id: i.id,
        address: i.address,
        version: i.version,
        weight: i.weight,
        health: effectiveHealth(i.draining, this.deps.checkState(spec.name, i.id)),
        priority: i.priority,
        load: this.deps.loads.view(spec.name, i.id),
      })),
      policy: spec.policy,
      services: spec.services,
      revision: spec.revision,
      dropped: this.deps.loads.dropped(spec.name),
    };
  }

  private async require(name: string): Promise<EngineSpec> {
    const spec = await this.deps.store.get(name);
    if (!spec) throw new AdminError('NOT_FOUND', `engine "${name}" not found`);
    return spec;
  }

  private async changeInstance(
    engine: string,
    instanceId: string,
    fn: (i: InstanceSpec) => InstanceSpec,
  ): Promise<EngineView> {
    const spec = await updateEngine(this.deps.store, engine, (current) => {
      if (!current) throw new AdminError('NOT_FOUND', `engine "${engine}" not found`);
      const next = updateInstance(current, instanceId, fn);
      if (!next) throw new AdminError('NOT_FOUND', `engine "${engine}" has no instance "${instanceId}"`);
      return next;
    });
    return this.view(spec!);
  }

  private newEngine(name: string, version?: string): EngineSpec {
    return {
      name,
      versions: [{ name: version || 'v1', weight: 100 }],
      instances: [],
      policy: defaultPolicy(),
      services: [],
      revision: 0,
    };
  }

  /** Every write goes through the same validation as config files, so the store never holds a bad spec. */
  private validated(spec: EngineSpec): EngineSpec {
    const { revision, ...input } = spec;
    const parsed = parseEngineSpec(input);
    if (!parsed.ok)
      throw new AdminError(
        'INVALID_ARGUMENT',
        `invalid engine "${spec.name}": ${parsed.errors.join('; ')}`,
        parsed.errors,
      );
    return { ...parsed.value, revision };
  }
}
