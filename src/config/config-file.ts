import { readFileSync } from 'node:fs';
import { parse } from 'yaml';
import { z } from 'zod';
import type { EngineSpec } from '../model/engine';
import { LIMIT_NAMES } from '../protocol/h2/limits';
import { XDS_SETTING_NAMES } from './xds-settings';
import { formatIssues, parseEngineSpec, type Result } from '../model/validate';
import type { JsonValue } from '../model/config';
import { CONFIG_KINDS, entryKinds } from '../model/kinds/config-kinds';

const port = z.number().int().min(0).max(65535);

const fileSchema = z.strictObject({
  host: z.string().min(1).optional(),
  apiPort: port.optional(),
  xdsPort: port.optional(),
  logLevel: z.enum(['error', 'warn', 'info', 'http', 'debug', 'silent']).optional(),
  redisUrl: z.string().optional(),
  /** Redis Sentinel (redis-settings.ts): the Sentinels, the primary's name, passwords, TLS. */
  redisSentinels: z.union([z.string(), z.array(z.string())]).optional(),
  redisSentinelName: z.string().min(1).optional(),
  redisPassword: z.string().optional(),
  redisSentinelPassword: z.string().optional(),
  redisTls: z.boolean().optional(),
  redisMinReplicas: z.number().int().min(0).max(16).optional(),
  redisPrefix: z.string().optional(),
  leaderLeaseMs: z.number().int().min(300).max(600_000).optional(),
  runDir: z.string().min(1).optional(),
  logDir: z.string().min(1).optional(),
  traceSampleRatio: z.number().min(0).max(1).optional(),
  /** xDS storm control (xds-settings.ts), by name. */
  xds: z
    .strictObject(Object.fromEntries(XDS_SETTING_NAMES.map((n) => [n, z.number().int().min(1).optional()])))
    .optional(),
  /** Feature flags (features.ts) by name: on (true) or off (false). */
  features: z.record(z.string(), z.boolean()).optional(),
  router: z
    .strictObject({
      id: z.string().min(1).optional(),
      port: port.optional(),
      adminPort: port.optional(),
      controlPlanes: z.array(z.string().min(1)).optional(),
      /** HTTP/2 limits of the router's ingress (protocol/h2/limits.ts), by name. */
      http2: z
        .strictObject(Object.fromEntries(LIMIT_NAMES.map((n) => [n, z.number().int().min(0).optional()])))
        .optional(),
    })
    .optional(),
  /** Authentication, TLS and CORS (security-settings.ts); environment and flags override each. */
  security: z
    .strictObject({
      enableAuth: z.boolean().optional(),
      jwtSecret: z.string().optional(),
      jwksUrl: z.string().optional(),
      jwtPublicKeyFile: z.string().optional(),
      jwtIssuer: z.string().optional(),
      jwtAudience: z.string().optional(),
      apiKeys: z.string().optional(),
      token: z.string().optional(),
      tlsCertFile: z.string().optional(),
      tlsKeyFile: z.string().optional(),
      tlsCaFile: z.string().optional(),
      corsOrigins: z.string().optional(),
      rateLimitPerMinute: z.number().int().min(0).optional(),
    })
    .optional(),
  engines: z.array(z.unknown()).default([]),
  /** Entries of the kinds served as plain entries, each under its section (alertRules, silences…). */
  ...Object.fromEntries(entryKinds().map(([, k]) => [k.entry.fileKey, z.array(z.unknown()).default([])])),
});

/** A configuration entry from the file, validated by its kind. */
export interface FileEntry {
  readonly kind: string;
  readonly name: string;
  readonly value: JsonValue;
}

export type FileSettings = Omit<z.output<typeof fileSchema>, 'engines'> & {
  engines: EngineSpec[];
  entries: FileEntry[];
};

/** The file's sections of configuration kinds other than engines, by kind. */
const SECTIONS = entryKinds().map(([kind, k]) => [k.entry.fileKey, kind] as const);

/** Parses a YAML config text; every problem is reported with its path (engines[1].instances[0].address: …). */
export function parseConfigText(text: string, source: string): Result<FileSettings> {
  let raw: unknown;
  try {
    raw = parse(text) ?? {};
  } catch (err) {
    return { ok: false, errors: [`${source}: not valid YAML: ${(err as Error).message}`] };
  }
  const parsed = fileSchema.safeParse(raw);
  if (!parsed.success)
    return { ok: false, errors: formatIssues(parsed.error.issues).map((e) => `${source}: ${e}`) };
  const errors: string[] = [];
  const engines: EngineSpec[] = [];
  const names = new Set<string>();
  parsed.data.engines.forEach((input, i) => {
    const spec = parseEngineSpec(input, `engines[${i}]`);
    if (!spec.ok) errors.push(...spec.errors.map((e) => `${source}: ${e}`));
    else if (names.has(spec.value.name))
      errors.push(`${source}: engines[${i}].name: duplicate engine "${spec.value.name}"`);
    else {
      names.add(spec.value.name);
      engines.push(spec.value);
    }
  });
  const entries: FileEntry[] = [];
  for (const [section, kind] of SECTIONS) {
    const seen = new Set<string>();
    const data: Record<string, unknown> = parsed.data;
    ((data[section] as unknown[] | undefined) ?? []).forEach((input, i) => {
      const k = CONFIG_KINDS.get(kind)!;
      const v = k.validate(input, `${section}[${i}]`);
      if (!v.ok) return errors.push(...v.errors.map((e) => `${source}: ${e}`));
      const name = k.nameOf(v.value);
      if (seen.has(name)) return errors.push(`${source}: ${section}[${i}]: duplicate "${name}"`);
      seen.add(name);
      entries.push({ kind, name, value: v.value });
    });
  }
  const rest: Record<string, unknown> = { ...parsed.data };
  for (const [section] of SECTIONS) delete rest[section];
  return errors.length > 0
    ? { ok: false, errors }
    : { ok: true, value: { ...(rest as Omit<FileSettings, 'engines' | 'entries'>), engines, entries } };
}

export function loadConfigFile(path: string): Result<FileSettings> {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (err) {
    return { ok: false, errors: [`cannot read config file ${path}: ${(err as Error).message}`] };
  }
  return parseConfigText(text, path);
}
