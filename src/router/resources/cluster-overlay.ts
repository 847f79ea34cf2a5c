import type { EngineCluster, EngineOverrides } from '../../../gen/nerve/discovery/v1/resources';
import { applyOverrides } from '../../model/overrides';
import { clusterProblem } from './engine-cluster';

/**
 * What the router routes by: each engine's base cluster with its overrides applied. Either side may
 * change alone (an override set, refreshed or expired; the base pushed), and every change hands the
 * merged clusters on. An override that would make its engine unroutable (a version weight its
 * endpoints cannot take) is left out and reported: the base stands for that engine.
 */
export class ClusterOverlay {
  private bases: readonly EngineCluster[] = [];
  private overrides = new Map<string, EngineOverrides>();

  constructor(
    private readonly apply: (clusters: readonly EngineCluster[]) => void,
    private readonly refused: (engine: string, problem: string) => void,
  ) {}

  setBases(clusters: readonly EngineCluster[]): void {
    this.bases = clusters;
    this.emit();
  }

  setOverrides(overrides: readonly EngineOverrides[]): void {
    this.overrides = new Map(overrides.map((o) => [o.engine, o]));
    this.emit();
  }

  /** Engines with overrides in force now (the admin page). */
  overridden(): string[] {
    return this.bases.filter((b) => this.overrides.has(b.name)).map((b) => b.name);
  }

  private emit(): void {
    this.apply(
      this.bases.map((base) => {
        const o = this.overrides.get(base.name);
        if (!o) return base;
        const merged = applyOverrides(base, o);
        const problem = clusterProblem(merged);
        if (problem === undefined) return merged;
        this.refused(base.name, problem);
        return base;
      }),
    );
  }
}
