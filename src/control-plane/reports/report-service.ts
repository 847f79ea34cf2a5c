import type * as grpc from '@grpc/grpc-js';
import { admitStream } from '../../security/stream-admission';
import { type Authenticator, OPEN } from '../../security/authenticator';
import type { Logger } from 'winston';
import type { StreamReportsRequest, StreamReportsResponse } from '../../../gen/nerve/report/v1/report';
import { ReportServiceService } from '../../../gen/nerve/report/v1/report_service';
import type { IncomingReport } from '../kernel/events';

/** nerve.report.v1.ReportService: routers stream per-instance load and circuit states. */
export function addReportService(
  server: grpc.Server,
  replica: string,
  onReport: (report: IncomingReport) => void,
  intervalMs: number,
  logger: Logger,
  auth: Authenticator = OPEN,
): { closeAll(): void } {
  const calls = new Set<grpc.ServerDuplexStream<StreamReportsRequest, StreamReportsResponse>>();
  server.addService(ReportServiceService, {
    streamReports(call: grpc.ServerDuplexStream<StreamReportsRequest, StreamReportsResponse>) {
      calls.add(call);
      call.on('close', () => calls.delete(call));
      // The stream speaks for the node of its first report (admitStream ends it at any other).
      let nodeId = '';
      admitStream(
        call,
        auth,
        (r) => r.nodeId,
        { what: 'load reports' },
        (report: StreamReportsRequest) => {
          nodeId ||= report.nodeId;
          logger.debug('load report', { nodeId, instances: report.loads.length });
          logTracedCalls(logger, nodeId, report);
          onReport({
            nodeId,
            source: 'router',
            replica,
            loads: report.loads,
            engineCircuits: report.engineCircuits,
            engineCalls: report.engineCalls,
            heldCalls: report.heldCalls,
            dropped: {},
            intervalMs: report.intervalMs || intervalMs,
          });
        },
        // The interval is the first answer, sent only once the credentials are good.
        () => call.write({ reportIntervalMs: intervalMs }),
      );
      call.on('end', () => call.end());
      call.on('error', () => undefined); // a router going away is normal
    },
  });
  return {
    closeAll: () => {
      for (const call of calls) call.end();
    },
  };
}

/**
 * The calls of sampled traces a router reports, one info line each with the router that carried it: a
 * search for a trace id in the control plane's logs shows which router and instance served it.
 */
function logTracedCalls(logger: Logger, router: string, report: StreamReportsRequest): void {
  for (const t of report.tracedCalls)
    logger.info('traced call', {
      traceId: t.traceId,
      spanId: t.spanId,
      parentSpanId: t.parentSpanId || undefined,
      router,
      engine: t.engine,
      instance: t.instanceId,
      method: t.method,
      status: t.grpcStatus,
      durationMs: t.durationMs,
      attempts: t.attempts,
      startedAt: new Date(Number(t.startUnixMs)).toISOString(),
    });
  if (report.tracedDropped > 0)
    logger.warn('router left traced calls out of its report (over its cap)', {
      router,
      dropped: report.tracedDropped,
    });
}
