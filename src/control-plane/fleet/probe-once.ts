import { HealthProbe } from '../../protocol/health-probe';

/** One grpc.health.v1 check on a fresh connection: true when the instance answers SERVING in time. */
export function probeOnce(address: string, timeoutMs: number): Promise<boolean> {
  const probe = new HealthProbe(address);
  return new Promise<boolean>((resolve) => {
    const timeout = probe.check((result) => {
      clearTimeout(timer);
      probe.close();
      resolve('status' in result && result.status === 'SERVING');
    });
    const timer = setTimeout(() => timeout(timeoutMs), timeoutMs);
  });
}
