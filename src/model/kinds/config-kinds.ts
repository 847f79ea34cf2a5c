import type { z } from 'zod';
import type { JsonValue } from '../config';
import type { LadderRole } from '../security/roles';
import { ENGINE_KIND, toDocument } from '../engine-document';
import { parseEngineSpec, type Result } from '../validate';
import { alertRuleSchema, parseAlertRule } from '../alerts/rule';
import { channelSchema, keepChannelSecrets, parseChannel, redactChannel } from '../alerts/channel';
import {
  parseSilence,
  type SilenceDocument,
  silenceSchema,
  toSilence,
  withEndFromDuration,
} from '../alerts/silence-schema';
import { API_KEY_KIND, parseApiKey } from '../security/api-key';
import { inhibitRuleSchema, parseInhibitRule } from '../alerts/inhibition';
import { parseRouteTree, routeTreeSchema } from '../alerts/route';
import { parseTimeInterval, timeIntervalSchema } from '../alerts/time-interval';

export const ALERT_RULE_KIND = 'alert-rules';
export const CHANNEL_KIND = 'notification-channels';
export const SILENCE_KIND = 'silences';
export const INHIBIT_RULE_KIND = 'inhibit-rules';
export const ALERT_ROUTE_KIND = 'alert-routes';
export const TIME_INTERVAL_KIND = 'time-intervals';

/** A kind whose documents are their validated form, named by a field. */
function plain(parse: (doc: unknown, prefix: string) => Result<unknown>, field: string): ConfigKind {
  return {
    validate: (doc, prefix) => {
      const parsed = parse(doc, prefix);
      return parsed.ok ? { ok: true, value: JSON.parse(JSON.stringify(parsed.value)) as JsonValue } : parsed;
    },
    nameOf: (doc) => (doc as Record<string, string>)[field],
  };
}

/**
 * Every kind of entry the versioned configuration holds, by name: how a document of it is validated
 * (into its canonical stored form) and where its name is. Export, import, rollback and diff work over
 * all of them; a later issue adds a kind (alert rules, channels, API keys) by adding an entry here.
 */
export interface ConfigKind {
  /** Validates a document; the value is its canonical form (defaults filled in). */
  readonly validate: (doc: unknown, prefix: string) => Result<JsonValue>;
  /** The entry name of a valid document. */
  readonly nameOf: (doc: JsonValue) => string;
  /**
   * Kinds holding secrets: a stored document as readers see it (secrets as `***`; only configuration
   * exports, history and diffs, which need admin, show them whole)...
   */
  readonly redact?: (doc: JsonValue) => JsonValue;
  /** ...and a document written back as a read showed it, with the stored secrets kept. */
  readonly keepSecrets?: (input: unknown, stored: JsonValue | undefined) => unknown;
  /** A new document from the API as its author means it (a rule's id from its name). */
  readonly complete?: (input: unknown, nowMs: number) => unknown;
  /**
   * What an API write (not an import or a rollback, which restore what was) must also meet, or
   * undefined: a silence must end in the future.
   */
  readonly checkWrite?: (doc: JsonValue, nowMs: number) => string | undefined;
  /** How the API serves the kind as plain entries; kinds with an API of their own (engines, keys) have none. */
  readonly entry?: EntryApi;
}

/**
 * A kind served as entries: CRUD under its REST path (each entry with its ETag), ListEntries /
 * PutEntry / DeleteEntry on admin gRPC, a section of the config file. Adding such a kind is one entry
 * in CONFIG_KINDS; every transport serves it from this.
 */
export interface EntryApi {
  /** Its name in messages ("alert rule"). */
  readonly what: string;
  /** REST path under /api/v1/nerve ("/alert-rules"). */
  readonly path: string;
  /** The field of a REST list answer ("rules"). */
  readonly listKey: string;
  /** The field its name is in ("id"). */
  readonly nameField: string;
  /** Who may write it (reading takes a viewer). */
  readonly writer: LadderRole;
  /** Whether it takes a merge patch. */
  readonly patchable: boolean;
  /** Its section of the config file ("alertRules"). */
  readonly fileKey: string;
  /** The body a write takes, for the OpenAPI document. */
  readonly schema: z.ZodType;
}

export const CONFIG_KINDS: ReadonlyMap<string, ConfigKind> = new Map([
  [
    ENGINE_KIND,
    {
      validate: (doc, prefix) => {
        const parsed = parseEngineSpec(doc, prefix);
        return parsed.ok ? { ok: true, value: toDocument(parsed.value) } : parsed;
      },
      nameOf: (doc) => (doc as { name: string }).name,
    },
  ],
  [
    ALERT_RULE_KIND,
    {
      ...plain(parseAlertRule, 'id'),
      complete: withIdFromName,
      entry: {
        what: 'alert rule',
        path: '/alert-rules',
        listKey: 'rules',
        nameField: 'id',
        writer: 'admin',
        patchable: true,
        fileKey: 'alertRules',
        schema: alertRuleSchema,
      },
    },
  ],
  [
    CHANNEL_KIND,
    {
      ...plain(parseChannel, 'name'),
      redact: redactChannel,
      keepSecrets: keepChannelSecrets,
      entry: {
        what: 'notification channel',
        path: '/notification-channels',
        listKey: 'channels',
        nameField: 'name',
        writer: 'admin',
        patchable: true,
        fileKey: 'notificationChannels',
        schema: channelSchema,
      },
    },
  ],
  [
    SILENCE_KIND,
    {
      ...plain(parseSilence, 'id'),
      complete: withEndFromDuration,
      // Silencing is incident work: operators do it.
      entry: {
        what: 'silence',
        path: '/silences',
        listKey: 'silences',
        nameField: 'id',
        writer: 'operator',
        patchable: false,
        fileKey: 'silences',
        schema: silenceSchema,
      },
      checkWrite: (doc, nowMs) => {
        const endsAtMs = toSilence(doc as unknown as SilenceDocument).endsAtMs;
        return endsAtMs <= nowMs
          ? `endsAt ${new Date(endsAtMs).toISOString()} is in the past: a silence must end after now`
          : undefined;
      },
    },
  ],
  [
    INHIBIT_RULE_KIND,
    {
      ...plain(parseInhibitRule, 'id'),
      entry: {
        what: 'inhibit rule',
        path: '/inhibit-rules',
        listKey: 'inhibitRules',
        nameField: 'id',
        writer: 'admin',
        patchable: true,
        fileKey: 'inhibitRules',
        schema: inhibitRuleSchema,
      },
    },
  ],
  [
    ALERT_ROUTE_KIND,
    {
      ...plain(parseRouteTree, 'name'),
      entry: {
        what: 'alert routing tree',
        path: '/alert-routes',
        listKey: 'routes',
        nameField: 'name',
        writer: 'admin',
        patchable: true,
        fileKey: 'alertRoutes',
        schema: routeTreeSchema,
      },
    },
  ],
  [
    TIME_INTERVAL_KIND,
    {
      ...plain(parseTimeInterval, 'name'),
      entry: {
        what: 'time interval',
        path: '/time-intervals',
        listKey: 'timeIntervals',
        nameField: 'name',
        writer: 'admin',
        patchable: true,
        fileKey: 'timeIntervals',
        schema: timeIntervalSchema,
      },
    },
  ],
  [API_KEY_KIND, plain(parseApiKey, 'name')],
]);

/**
 * A rule posted without an id gets one from its name ("Math p99 high" → "math-p99-high"), as a person
 * naming a rule expects; an explicit id stands.
 */
function withIdFromName(input: unknown): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const doc = input as { id?: unknown; name?: unknown };
  if (doc.id !== undefined || typeof doc.name !== 'string') return input;
  const id = doc.name
    .toLowerCase()
    .replace(/[^a-z0-9._-]+/g, '-')
    .replace(/^[^a-z0-9]+|[^a-z0-9]+$/g, '')
    .slice(0, 63)
    .replace(/[^a-z0-9]+$/, '');
  return id ? { ...doc, id } : input;
}

/** The kinds served as plain entries, in CONFIG_KINDS order. */
export function entryKinds(): [string, ConfigKind & { readonly entry: EntryApi }][] {
  return [...CONFIG_KINDS].filter(
    (e): e is [string, ConfigKind & { entry: EntryApi }] => e[1].entry !== undefined,
  );
}
