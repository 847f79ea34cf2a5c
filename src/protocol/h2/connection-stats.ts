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
  /** Malformed requests by what was wrong (details such as names cut out: a bounded set of labels). */
  readonly malformedReasons = new Map<string, number>();
  /** Connections this side closed with a connection error (GOAWAY), by HTTP/2 error code. */
  readonly errors = new Map<string, number>();
  /** Limits and rules peers broke, by reason (a limit's name, or an error code's), as the connection closed. */
  readonly violations = new Map<string, number>();
  /** Connections closed gracefully by the router, by why: idle_timeout, max_age. */
  readonly drains = new Map<string, number>();

  connectionError(code: number): void {
    add(this.errors, errorName(code));
  }

  violation(reason: string): void {
    add(this.violations, reason);
  }

  drained(reason: string): void {
    add(this.drains, reason);
  }

  malformedRequest(why: string): void {
    this.malformed++;
    add(this.malformedReasons, why.replace(/"(?:[^"\\]|\\.)*"/g, '…'));
  }
}

function add(map: Map<string, number>, key: string): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}
