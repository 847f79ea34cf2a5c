import type { JsonValue } from './config';

type Doc = Record<string, unknown>;

const READ_ONLY_TOP = ['revision', 'dropped', 'runtime', 'runtimeSpec'];
const READ_ONLY_INSTANCE = ['health', 'load', 'process', 'lease'];

/**
 * An engine as GET answers it, sent back with PUT, as the input it stands for: what only reads carry
 * (revision, dropped calls, instances' health, load, process and lease, the runtime's state) is
 * dropped, the spec's runtime (`runtimeSpec`) is the runtime again, a degraded response's payload
 * (base64, as JSON shows bytes) is `payloadBase64`, and what the view does not show is taken from
 * `stored`. A document without `revision` is input already and is returned as it is.
 */
export function viewAsInput(input: unknown, stored: JsonValue | undefined): unknown {
  if (input === null || typeof input !== 'object' || Array.isArray(input)) return input;
  const view = input as Doc;
  if (typeof view.revision !== 'number') return input;
  const before = (stored ?? {}) as Doc;
  const out: Doc = {};
  for (const [k, v] of Object.entries(view)) if (!READ_ONLY_TOP.includes(k)) out[k] = v;
  if (view.runtimeSpec !== undefined) out.runtime = view.runtimeSpec;
  // The view names the default namespace; a spec that never named one does not get it from a read.
  if (out.namespace === 'default' && before.namespace === undefined) delete out.namespace;
  for (const k of ['adaptiveWeights', 'registration'])
    if (out[k] === undefined && before[k] !== undefined) out[k] = before[k];
  const storedInstances = new Map(
    ((before.instances as Doc[] | undefined) ?? []).map((i) => [String(i.id), i] as const),
  );
  if (Array.isArray(view.instances))
    out.instances = (view.instances as Doc[]).map((i) => {
      const plain: Doc = {};
      for (const [k, v] of Object.entries(i)) if (!READ_ONLY_INSTANCE.includes(k)) plain[k] = v;
      if (plain.draining === undefined) plain.draining = storedInstances.get(String(i.id))?.draining ?? false;
      return plain;
    });
  const policy = view.policy as Doc | undefined;
  const degraded = policy?.degraded as Doc | undefined;
  if (policy && degraded && 'enabled' in degraded) {
    const { payload, message } = degraded;
    out.policy = {
      ...policy,
      degraded: {
        ...(typeof payload === 'string' && { payloadBase64: payload }),
        ...(typeof message === 'string' && { messageBase64: message }),
      },
    };
  }
  return out;
}
