import { errorName } from './frames';

/**
 * Counters of one side's HTTP/2 connections (clients', or instances'), kept off the per-request path and
 * read by the router's metrics at scrape time: what an operator looks at when callers report resets.
 */
export class ConnectionStats {
  /** Connections open now. */
  open = 0;
  /** Connections ever opened (accepted, or dialled). */
  opened = 0;
  /** Requests reset as malformed before routing (server side). */
  malformed = 0;
  /** Connections this side closed with a connection error (GOAWAY), by HTTP/2 error code. */
  readonly errors = new Map<string, number>();

  connectionError(code: number): void {
    const name = errorName(code);
    this.errors.set(name, (this.errors.get(name) ?? 0) + 1);
  }
}
