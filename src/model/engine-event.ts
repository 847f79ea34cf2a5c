import type { EngineSpec } from './engine';

/** An engine a configuration change put (its spec as it now is) or deleted. */
export type EngineEvent =
  { readonly kind: 'put'; readonly spec: EngineSpec } | { readonly kind: 'delete'; readonly name: string };
