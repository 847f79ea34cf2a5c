import { readFileSync, statSync } from 'node:fs';
import type { SecureContextOptions } from 'node:tls';
import type { TlsFiles } from './tls-files';

/** Node TLS options of a listener with these files: a CA means client certificates are required. */
export function serverTlsOptions(files: TlsFiles): SecureContextOptions & {
  requestCert: boolean;
  rejectUnauthorized: boolean;
} {
  return {
    cert: readFileSync(files.cert),
    key: readFileSync(files.key),
    ...(files.ca && { ca: readFileSync(files.ca) }),
    requestCert: Boolean(files.ca),
    rejectUnauthorized: Boolean(files.ca),
  };
}

/**
 * Calls `apply` with fresh options whenever one of the files changes (polled: watchers miss atomic
 * renames, the way cert-manager and Kubernetes secrets replace files). Options that fail to load (a
 * renewal half written, a key that does not match) are skipped and reported: the last good ones stay.
 * Returns the function that stops watching.
 */
export function watchTlsFiles(
  files: TlsFiles,
  apply: (options: SecureContextOptions) => void,
  onError: (err: Error) => void,
  intervalMs = 2_000,
): () => void {
  const paths = [files.cert, files.key, ...(files.ca ? [files.ca] : [])];
  const stamp = () => paths.map((p) => statSync(p, { throwIfNoEntry: false })?.mtimeMs ?? 0).join(',');
  let last = stamp();
  const timer = setInterval(() => {
    const now = stamp();
    if (now === last) return;
    last = now;
    try {
      apply(serverTlsOptions(files));
    } catch (err) {
      onError(err as Error);
    }
  }, intervalMs);
  timer.unref();
  return () => clearInterval(timer);
}
