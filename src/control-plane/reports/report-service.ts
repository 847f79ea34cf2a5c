import type * as grpc from '@grpc/grpc-js';
import type { Logger } from 'winston';
import type { StreamReportsRequest, StreamReportsResponse } from '../../../gen/nerve/report/v1/report';
import { ReportServiceService } from '../../../gen/nerve/report/v1/report_service';
import type { CircuitBoard } from '../circuits/circuit-board';
import type { LoadStats } from './load-stats';

/** nerve.report.v1.ReportService: routers stream per-instance load and circuit states. */
export function addReportService(
  server: grpc.Server,
  stats: LoadStats,
  circuits: CircuitBoard,
  intervalMs: number,
  logger: Logger,
): { closeAll(): void } {
  const calls = new Set<grpc.ServerDuplexStream<StreamReportsRequest, StreamReportsResponse>>();
  server.addService(ReportServiceService, {
    streamReports(call: grpc.ServerDuplexStream<StreamReportsRequest, StreamReportsResponse>) {
      calls.add(call);
      call.on('close', () => calls.delete(call));
      call.write({ reportIntervalMs: intervalMs });
      call.on('data', (report: StreamReportsRequest) => {
        logger.debug('load report', { nodeId: report.nodeId, instances: report.loads.length });
        stats.record(report.nodeId, report.loads);
        circuits.record(report.nodeId, report.loads, report.engineCircuits);
      });
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
