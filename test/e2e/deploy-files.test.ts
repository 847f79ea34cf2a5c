import { execFileSync, spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parse, parseAllDocuments } from 'yaml';
import { resolveSettings } from '../../src/config/settings';
import { ENGINE_TYPES } from '../../src/engines/computations';

const ROOT = join(__dirname, '..', '..');
const K8S = join(ROOT, 'deploy', 'kubernetes');
const OVERLAYS = ['dev', 'staging', 'production'];

/** What the Dockerfile promises: its exposed ports, its user, its health check. */
const dockerfile = readFileSync(join(ROOT, 'Dockerfile'), 'utf8');
const EXPOSED = new Set(
  dockerfile
    .match(/^EXPOSE (.+)$/m)![1]
    .split(/\s+/)
    .map(Number),
);
/** Engines listen where their PORT says; these are the demo engines' ports in the deployment files. */
const ENGINE_PORTS = new Set([7001, 7002]);

/** The parts of Kubernetes objects these tests read (parsed YAML; every field optional but kind and name). */
interface Probe {
  readonly httpGet?: { readonly port: string | number };
  readonly grpc?: { readonly port: number };
  readonly tcpSocket?: { readonly port: string | number };
}
interface Container {
  readonly name: string;
  readonly image: string;
  readonly args?: string[];
  readonly command?: string[];
  readonly env?: { readonly name: string; readonly value?: string; readonly valueFrom?: unknown }[];
  readonly ports?: { readonly name?: string; readonly containerPort: number }[];
  readonly resources?: {
    readonly requests?: Record<string, string>;
    readonly limits?: Record<string, string>;
  };
  readonly securityContext?: {
    readonly readOnlyRootFilesystem?: boolean;
    readonly allowPrivilegeEscalation?: boolean;
    readonly capabilities?: { readonly drop?: string[] };
    readonly runAsUser?: number;
  };
  readonly volumeMounts?: { readonly mountPath: string }[];
  readonly startupProbe?: Probe;
  readonly livenessProbe?: Probe;
  readonly readinessProbe?: Probe;
}
type ProbeName = 'startupProbe' | 'livenessProbe' | 'readinessProbe';
interface PodSpec {
  readonly containers: Container[];
  readonly automountServiceAccountToken?: boolean;
  readonly securityContext?: {
    readonly runAsNonRoot?: boolean;
    readonly runAsUser?: number;
    readonly seccompProfile?: { readonly type: string };
  };
}
type Labels = Record<string, string>;
interface Spec {
  readonly replicas?: number;
  readonly strategy?: {
    readonly type: string;
    readonly rollingUpdate?: { readonly maxUnavailable?: number | string };
  };
  readonly template?: { readonly metadata: { readonly labels: Labels }; readonly spec: PodSpec };
  readonly selector?: Labels & { readonly matchLabels?: Labels };
  readonly ports?: { readonly targetPort: string | number }[];
  readonly scaleTargetRef?: { readonly name: string };
  readonly podSelector?: { readonly matchLabels: Labels };
  readonly ingress?: { readonly ports?: { readonly port: number }[] }[];
  readonly rules?: {
    readonly http: {
      readonly paths: { readonly backend: { readonly service: { readonly name: string } } }[];
    };
  }[];
}
interface Obj {
  readonly kind: string;
  readonly metadata: { readonly name: string; readonly namespace?: string };
  readonly spec: Spec;
  readonly data?: Record<string, string>;
  readonly stringData?: Record<string, string>;
}
/** A Compose service, as these tests read it. */
interface Service {
  readonly image?: string;
  readonly command: string[];
  environment: Record<string, string>;
  readonly profiles?: string[];
  readonly read_only?: boolean;
  readonly ports?: string[];
  readonly volumes?: string[];
}

function has(command: string, args: string[]): boolean {
  return spawnSync(command, args, { stdio: 'ignore' }).status === 0;
}

function render(dir: string): Obj[] {
  const out = execFileSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 });
  return parseAllDocuments(out).map((d) => d.toJSON() as Obj);
}

/** Every pod template of the rendered objects, with its owner's name. */
function pods(objects: Obj[]): { owner: Obj; spec: PodSpec; labels: Labels }[] {
  return objects
    .filter((o) => ['Deployment', 'StatefulSet'].includes(o.kind))
    .map((o) => ({ owner: o, spec: o.spec.template!.spec, labels: o.spec.template!.metadata.labels }));
}

const matches = (selector: Labels, labels: Labels) =>
  Object.entries(selector).every(([k, v]) => labels[k] === v);

describe('the Dockerfile', () => {
  it('builds in stages, runs as a numeric non-root user, and checks health per command', () => {
    expect(dockerfile.match(/^FROM /gm)!.length).toBeGreaterThanOrEqual(2);
    expect(dockerfile).toMatch(/^USER 1000:1000$/m);
    expect(dockerfile).toMatch(/^HEALTHCHECK .*bin\/healthcheck\.js/m);
    expect(dockerfile).toMatch(/npm prune --omit=dev/);
    expect([...EXPOSED]).toEqual([3000, 18000, 50051, 9901]);
  });
});

/** Compose's `${VAR-default}` in a service's environment, with `vars` as the shell and --env-file give them. */
function interpolated(env: Record<string, string>, vars: Record<string, string>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(env))
    out[k] = String(v).replace(/\$\{(\w+)-([^}]*)\}/g, (_, name: string, dflt: string) => vars[name] ?? dflt);
  return out;
}

/** The variables deploy/compose/redis-ha.env sets. */
const HA_VARS = Object.fromEntries(
  readFileSync(join(ROOT, 'deploy', 'compose', 'redis-ha.env'), 'utf8')
    .split('\n')
    .filter((l) => /^\w+=/.test(l))
    .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
);

describe('docker-compose.yml', () => {
  const compose = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
    services: Record<string, Service>;
    volumes: Record<string, { name: string }>;
    networks: Record<string, { name: string }>;
  };
  const services = compose.services;
  for (const s of Object.values(services)) if (s.environment) s.environment = interpolated(s.environment, {});
  const nerve = Object.entries(services).filter(([, s]) => s.image === 'nerve:latest');

  it('runs two control planes on Redis, a router, self-registering engines, Prometheus and Grafana', () => {
    const commands = nerve.map(([, s]) => s.command[0]);
    expect(commands.filter((c) => c === 'control-plane')).toHaveLength(2);
    expect(commands).toContain('router');
    expect(commands.filter((c) => c === 'engine').length).toBeGreaterThanOrEqual(2);
    for (const [name, s] of nerve) {
      if (s.command[0] === 'control-plane') expect(s.environment.REDIS_URL).toMatch(/^redis:\/\/redis:6379/);
      if (s.command[0] === 'engine') {
        expect(ENGINE_TYPES.has(s.environment.ENGINE_TYPE)).toBe(true);
        expect(s.environment.CONTROL_PLANE).toBe('control-plane:18000');
        expect(ENGINE_PORTS.has(Number(s.environment.PORT))).toBe(true);
      }
      // Every setting a service is given resolves (the process would exit 2 otherwise).
      expect(() => resolveSettings({}, s.environment, undefined, { host: '0.0.0.0' })).not.toThrow();
      expect(s.read_only).toBe(true);
      for (const p of s.ports ?? []) expect(EXPOSED.has(Number(String(p).split(':')[1]))).toBe(true);
      expect(name).toBeTruthy();
    }
    expect(services.prometheus.volumes).toContain('./deploy/prometheus:/etc/prometheus:ro');
    expect(services.grafana.volumes).toContain('./deploy/grafana/provisioning:/etc/grafana/provisioning:ro');
    expect(services.grafana.volumes).toContain('./deploy/grafana/dashboards:/var/lib/grafana/dashboards:ro');
  });

  it('profile ha: a replica and three Sentinels beside the primary; the control planes go through them', () => {
    const ha = Object.entries(services)
      .filter(([, s]) => s.profiles?.includes('ha'))
      .map(([name]) => name)
      .sort();
    expect(ha).toEqual(['redis-replica', 'redis-sentinel-1', 'redis-sentinel-2', 'redis-sentinel-3']);
    const raw = parse(readFileSync(join(ROOT, 'docker-compose.yml'), 'utf8'), { merge: true }) as {
      services: Record<string, Service>;
    };
    for (const [, s] of Object.entries(raw.services).filter(([, x]) => x.command?.[0] === 'control-plane')) {
      const settings = resolveSettings({}, interpolated(s.environment, HA_VARS), undefined, {
        host: '0.0.0.0',
      });
      expect(settings.redis).toEqual({
        kind: 'sentinel',
        name: 'nerve',
        sentinels: [1, 2, 3].map((i) => ({ host: `redis-sentinel-${i}`, port: 26379 })),
        tls: false,
      });
    }
    // Every Sentinel monitors the primary by name with a quorum of two of the three.
    for (const n of [1, 2, 3])
      expect(services[`redis-sentinel-${n}`].command.join(' ')).toMatch(
        /sentinel monitor nerve redis 6379 2/,
      );
  });

  it('names its volumes and network, and Prometheus scrapes the services it defines', () => {
    for (const v of Object.values(compose.volumes)) expect(v.name).toMatch(/^nerve-/);
    expect(compose.networks.nerve.name).toBe('nerve');
    const prometheus = parse(readFileSync(join(ROOT, 'deploy', 'prometheus', 'prometheus.yml'), 'utf8')) as {
      scrape_configs: { static_configs: { targets: string[] }[] }[];
    };
    const targets = prometheus.scrape_configs.flatMap((j) => j.static_configs.flatMap((c) => c.targets));
    for (const t of targets) {
      const [host, port] = t.split(':');
      expect(services[host]).toBeDefined();
      expect(EXPOSED.has(Number(port))).toBe(true);
    }
    const datasource = parse(
      readFileSync(join(ROOT, 'deploy', 'grafana', 'provisioning', 'datasources', 'prometheus.yml'), 'utf8'),
    ) as { datasources: { url: string }[] };
    expect(datasource.datasources[0].url).toBe('http://prometheus:9090');
  });

  it('is a valid Compose file (docker compose config)', () => {
    const cli = has('docker', ['compose', 'version'])
      ? ['docker', ['compose']]
      : has('docker-compose', ['version'])
        ? ['docker-compose', []]
        : undefined;
    if (!cli)
      throw new Error(
        'neither docker compose nor docker-compose is installed (.ci/run installs docker-compose)',
      );
    const [command, prefix] = cli as [string, string[]];
    const out = spawnSync(command, [...prefix, '-f', join(ROOT, 'docker-compose.yml'), 'config', '-q'], {
      encoding: 'utf8',
    });
    expect(out.stderr).toBe('');
    expect(out.status).toBe(0);
  });
});

describe('deploy/kubernetes', () => {
  const rendered = Object.fromEntries(OVERLAYS.map((o) => [o, render(join(K8S, 'overlays', o))]));
  const base = render(join(K8S, 'base'));

  it.each(OVERLAYS)('%s: has every object an operator expects, in its own namespace', (overlay) => {
    const objects = rendered[overlay];
    const kinds = new Set(objects.map((o) => o.kind));
    for (const kind of [
      'Namespace',
      'Deployment',
      'StatefulSet',
      'Service',
      'Ingress',
      'ConfigMap',
      'HorizontalPodAutoscaler',
      'PodDisruptionBudget',
      'NetworkPolicy',
      'ServiceAccount',
    ])
      expect(kinds).toContain(kind);
    // Production's Secret is created out of band (the overlay removes the placeholder).
    expect(kinds.has('Secret')).toBe(overlay !== 'production');
    const ns = objects.find((o) => o.kind === 'Namespace')!.metadata.name;
    for (const o of objects) if (o.kind !== 'Namespace') expect(o.metadata.namespace).toBe(ns);
    const deployments = objects.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name);
    expect(deployments).toEqual(
      expect.arrayContaining(['nerve-control-plane', 'nerve-router', 'nerve-engine-math']),
    );
  });

  it('runs 3 control-plane replicas on Redis outside dev, rolling one at a time', () => {
    for (const overlay of ['staging', 'production']) {
      const cp = rendered[overlay].find(
        (o) => o.kind === 'Deployment' && o.metadata.name === 'nerve-control-plane',
      )!;
      expect(cp.spec.replicas).toBe(3);
    }
    const config = base.find((o) => o.kind === 'ConfigMap')!;
    const secret = base.find((o) => o.kind === 'Secret')!;
    // What the pods are given resolves as settings (a bad one would make every pod exit 2): the store
    // is the primary three Sentinels name.
    const settings = resolveSettings({}, { ...config.data, ...secret.stringData }, undefined, {
      host: '0.0.0.0',
    });
    expect(settings.redis).toMatchObject({ kind: 'sentinel', name: 'nerve' });
    expect(settings.redis?.kind === 'sentinel' && settings.redis.sentinels.map((x) => x.host)).toEqual(
      [0, 1, 2].map((i) => `nerve-redis-sentinel-${i}.nerve-redis-sentinel`),
    );
  });

  it('runs Redis as a primary, a replica and three Sentinels, spread over machines, with PDBs', () => {
    const sets = Object.fromEntries(
      base.filter((o) => o.kind === 'StatefulSet').map((o) => [o.metadata.name, o]),
    );
    expect(sets['nerve-redis'].spec.replicas).toBe(2);
    expect(sets['nerve-redis-sentinel'].spec.replicas).toBe(3);
    for (const name of ['nerve-redis', 'nerve-redis-sentinel']) {
      const spec = sets[name].spec.template!.spec as PodSpec & {
        affinity?: {
          podAntiAffinity?: {
            requiredDuringSchedulingIgnoredDuringExecution?: {
              topologyKey: string;
              labelSelector: { matchLabels: Labels };
            }[];
          };
        };
      };
      const [rule] = spec.affinity?.podAntiAffinity?.requiredDuringSchedulingIgnoredDuringExecution ?? [];
      expect(rule?.topologyKey).toBe('kubernetes.io/hostname');
      expect(matches(rule.labelSelector.matchLabels, sets[name].spec.template!.metadata.labels)).toBe(true);
      const pdb = base.find((o) => o.kind === 'PodDisruptionBudget' && o.metadata.name === name);
      expect(pdb).toBeDefined();
    }
    // Every Sentinel watches the primary with a quorum of two; a data node asks the Sentinels first.
    const script = (name: string) => sets[name].spec.template!.spec.containers[0].command!.join(' ');
    expect(script('nerve-redis-sentinel')).toMatch(/sentinel monitor nerve \$m 6379 2/);
    expect(script('nerve-redis')).toMatch(/sentinel get-master-addr-by-name nerve/);
  });

  it('gives every container probes, resources, and a non-root read-only security context', () => {
    const problems: string[] = [];
    const examples = parseAllDocuments(
      readFileSync(join(K8S, 'examples', 'router-sidecar.yaml'), 'utf8'),
    ).map((d) => d.toJSON() as Obj);
    for (const { owner, spec } of pods([...base, ...examples])) {
      const name = owner.metadata.name;
      if (owner.kind === 'Deployment') {
        expect(owner.spec.strategy?.type).toBe('RollingUpdate');
        expect(owner.spec.strategy?.rollingUpdate?.maxUnavailable).toBe(0);
      }
      expect(spec.automountServiceAccountToken).toBe(false);
      const pod = spec.securityContext ?? {};
      if (pod.runAsNonRoot !== true) problems.push(`${name}: runAsNonRoot`);
      if (pod.seccompProfile?.type !== 'RuntimeDefault') problems.push(`${name}: seccomp`);
      for (const c of spec.containers) {
        const where = `${name}/${c.name}`;
        const sc = c.securityContext ?? {};
        if (sc.readOnlyRootFilesystem !== true) problems.push(`${where}: readOnlyRootFilesystem`);
        if (sc.allowPrivilegeEscalation !== false) problems.push(`${where}: allowPrivilegeEscalation`);
        if (!sc.capabilities?.drop?.includes('ALL')) problems.push(`${where}: capabilities`);
        for (const r of ['cpu', 'memory'])
          if (!c.resources?.requests?.[r] || !c.resources?.limits?.[r])
            problems.push(`${where}: resources.${r}`);
        const nerveImage = /^nerve(:|$)/.test(c.image);
        const probes: ProbeName[] = nerveImage
          ? ['startupProbe', 'livenessProbe', 'readinessProbe']
          : ['livenessProbe', 'readinessProbe'];
        for (const p of c.name === 'app' ? [] : probes) if (!c[p]) problems.push(`${where}: ${p}`);
        if (nerveImage) {
          // The image's user is 1000: the pod must run as it (the image was built for it).
          if ((pod.runAsUser ?? sc.runAsUser) !== 1000) problems.push(`${where}: runAsUser`);
          const names = new Set((c.ports ?? []).map((p) => p.name));
          for (const p of c.ports ?? [])
            if (!EXPOSED.has(p.containerPort) && !ENGINE_PORTS.has(p.containerPort))
              problems.push(`${where}: port ${p.containerPort} not in the Dockerfile's EXPOSE`);
          for (const probe of probes) {
            const port = c[probe]?.httpGet?.port ?? c[probe]?.grpc?.port ?? c[probe]?.tcpSocket?.port;
            if (typeof port === 'string' && !names.has(port))
              problems.push(`${where}: ${probe} port ${port}`);
          }
          const mounts = (c.volumeMounts ?? []).map((m) => m.mountPath);
          if (!mounts.includes('/tmp')) problems.push(`${where}: a writable /tmp`);
        }
      }
    }
    expect(problems).toEqual([]);
  });

  it('wires Services, autoscalers, budgets and policies to what exists', () => {
    const problems: string[] = [];
    const podList = pods(base);
    const deployments = new Set(base.filter((o) => o.kind === 'Deployment').map((o) => o.metadata.name));
    for (const o of base) {
      if (o.kind === 'Service') {
        const target = podList.find((p) => matches(o.spec.selector!, p.labels));
        if (!target) problems.push(`Service ${o.metadata.name} selects no pod`);
        const ports = new Set(target?.spec.containers.flatMap((c) => (c.ports ?? []).map((p) => p.name)));
        for (const p of o.spec.ports!)
          if (!ports.has(String(p.targetPort))) problems.push(`Service ${o.metadata.name}: ${p.targetPort}`);
      }
      if (o.kind === 'HorizontalPodAutoscaler' && !deployments.has(o.spec.scaleTargetRef!.name))
        problems.push(`HPA ${o.metadata.name} scales nothing`);
      if (
        o.kind === 'PodDisruptionBudget' &&
        !podList.some((p) => matches(o.spec.selector!.matchLabels!, p.labels))
      )
        problems.push(`PDB ${o.metadata.name} covers no pod`);
      if (o.kind === 'NetworkPolicy')
        for (const rule of o.spec.ingress ?? [])
          for (const { port } of rule.ports ?? []) {
            const selected = podList.filter((p) => matches(o.spec.podSelector!.matchLabels, p.labels));
            const open = selected.some((p) =>
              p.spec.containers.some((c) => (c.ports ?? []).some((cp) => cp.containerPort === port)),
            );
            if (!open) problems.push(`NetworkPolicy ${o.metadata.name}: port ${port} on no selected pod`);
          }
      if (o.kind === 'Ingress')
        for (const rule of o.spec.rules!)
          for (const p of rule.http.paths)
            if (!base.some((s) => s.kind === 'Service' && s.metadata.name === p.backend.service.name))
              problems.push(`Ingress ${o.metadata.name}: no Service ${p.backend.service.name}`);
    }
    expect(problems).toEqual([]);
    // Engines register with a lease from their pod's own address.
    const engine = base.find((o) => o.metadata.name === 'nerve-engine-math')!.spec.template!.spec
      .containers[0];
    const env = Object.fromEntries((engine.env ?? []).map((e) => [e.name, e.value ?? e.valueFrom]));
    expect(env.ADVERTISE_HOST).toEqual({ fieldRef: { fieldPath: 'status.podIP' } });
    expect(engine.args).toEqual(['engine']);
  });
});
