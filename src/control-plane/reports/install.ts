import { RateLimitedWarning } from '../../observability/rate-limited-warning';
import type { IncomingReport } from '../kernel/events';
import { addLrsService } from '../lrs/lrs-service';
import type { PlaneContext } from '../context/plane-context';
import { LoadModule } from './load-module';
import { LoadStats } from './load-stats';
import { KnownFleetIndex, plausibleReport } from './plausibility';
import { addReportService } from './report-service';
import { ReportSharing } from './report-sharing';

/**
 * Routers' reports and LRS load reports: checked for plausibility, then on the bus as
 * `report.received` for every feature that learns from calls; loads per instance; with a shared store,
 * each replica's reports shared with the others.
 */
export function installReports(ctx: PlaneContext) {
  const { store, logger } = ctx;
  const loads = new LoadStats(ctx.staleAfterMs);
  const knownFleet = new KnownFleetIndex(
    () => store.version(),
    () => ctx.engines.listNow(),
  );
  const refusals = new RateLimitedWarning(logger, 60_000);
  let seq = 0;
  const onReport = (incoming: IncomingReport) => {
    const { report: r, refused } = plausibleReport(incoming, knownFleet.known);
    for (const [reason, n] of Object.entries(refused))
      if (n > 0) {
        ctx.metrics.reportLinesRefused.inc({ reason }, n);
        refusals.warn(`${r.nodeId}/${reason}`, 'report lines refused as implausible', {
          nodeId: r.nodeId,
          source: r.source,
          reason,
          lines: n,
        });
      }
    ctx.bus.emit('report.received', { ...r, seq: ++seq, atMs: Date.now() });
  };
  const id = ctx.replica.id;
  const reports = addReportService(ctx.grpc, id, onReport, ctx.reportIntervalMs, logger, ctx.gate.auth);
  const lrs = addLrsService(ctx.grpc, id, onReport, ctx.lrsIntervalMs, logger, ctx.gate.auth);
  return {
    loads,
    closeStreams: () => {
      reports.closeAll();
      lrs.closeAll();
    },
    modules: [
      new LoadModule(loads, ctx.bus),
      ...(store.status().backend === 'memory'
        ? []
        : [new ReportSharing(store, ctx.bus, id, logger, ctx.staleAfterMs)]),
    ],
  };
}
