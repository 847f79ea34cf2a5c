import { createHash } from 'node:crypto';
import type { RequestHandler } from 'express';

/**
 * Headers every answer carries: no MIME sniffing, no framing (clickjacking), no referrer leaking a
 * URL's token, and a Content-Security-Policy that lets pages load only this origin's scripts, styles,
 * images and connections (the dashboard's feed included). Inline scripts run only when their hash is
 * listed (`inlineScripts`): the docs page has one.
 */
export function securityHeaders(inlineScripts: readonly string[] = []): RequestHandler {
  const hashes = inlineScripts.map((s) => `'sha256-${createHash('sha256').update(s).digest('base64')}'`);
  const csp = [
    "default-src 'self'",
    `script-src 'self'${hashes.map((h) => ` ${h}`).join('')}`,
    "style-src 'self' 'unsafe-inline'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "frame-ancestors 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    "object-src 'none'",
  ].join('; ');
  return (_req, res, next) => {
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('content-security-policy', csp);
    next();
  };
}

/** The bodies of a page's inline <script> elements (to list their hashes in the policy). */
export function inlineScriptsOf(html: string): string[] {
  return [...html.matchAll(/<script>([\s\S]*?)<\/script>/g)].map((m) => m[1]);
}
