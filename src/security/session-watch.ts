import type { Principal } from '../model/security/principal';
import type { Credentials } from '../model/security/credentials';

/** What a session watch needs of the authenticator: whether it is on, and a fresh verdict. */
export interface Verifier {
  readonly enabled: boolean;
  authenticate(credentials: Credentials): Promise<Principal>;
}

/** The longest a timer may wait (setTimeout's limit): a later expiry is re-armed when it fires. */
const MAX_TIMER_MS = 2 ** 31 - 1;

interface Session {
  readonly credentials: Credentials;
  /** Only API keys can be revoked: JWTs end at their expiry, certificates with their TLS session. */
  readonly revocable: boolean;
  readonly admits: (p: Principal) => boolean;
  readonly end: (reason: string) => void;
  timer?: NodeJS.Timeout;
}

/**
 * Long-lived sessions (xDS, report and LRS streams, WebSocket and SSE feeds) opened with a credential
 * that may stop being good while they run. Each is ended when its token expires, and, on `recheck`
 * (called when API keys change or a key is revoked), when its credentials no longer authenticate or no
 * longer hold the role the session needs. A revoked key so closes what it opened, not only what it
 * would open next.
 */
export class SessionWatch {
  private readonly live = new Set<Session>();
  private checking: Promise<void> | undefined;
  private again = false;

  constructor(
    private readonly auth: Verifier,
    private readonly now: () => number = Date.now,
  ) {}

  get size(): number {
    return this.live.size;
  }

  /**
   * Watches one session; returns what stops watching it (call it when the session ends). `admits` says
   * whether a principal may still hold the session (its role, its node).
   */
  track(
    credentials: Credentials,
    principal: Principal,
    admits: (p: Principal) => boolean,
    end: (reason: string) => void,
  ): () => void {
    if (!this.auth.enabled) return () => undefined;
    const session: Session = { credentials, admits, end, revocable: principal.via === 'api-key' };
    this.live.add(session);
    if (principal.expiresAtMs !== undefined) this.arm(session, principal.expiresAtMs);
    return () => this.forget(session);
  }

  /**
   * Authenticates every live session's credentials again and ends those refused now. Calls that come
   * while one runs are folded into one more run after it.
   */
  recheck(): Promise<void> {
    if (this.checking) {
      this.again = true;
      return this.checking;
    }
    this.checking = this.run().finally(() => {
      this.checking = undefined;
      if (this.again) {
        this.again = false;
        void this.recheck();
      }
    });
    return this.checking;
  }

  /** Ends every session (the process stops): none is left with a timer. */
  clear(): void {
    for (const s of this.live) clearTimeout(s.timer);
    this.live.clear();
  }

  private async run(): Promise<void> {
    for (const s of [...this.live]) {
      if (!s.revocable) continue;
      let reason: string | undefined;
      try {
        const p = await this.auth.authenticate(s.credentials);
        if (!s.admits(p)) reason = `${p.name} no longer holds the role this stream needs`;
      } catch (err) {
        reason = `credentials no longer accepted: ${err instanceof Error ? err.message : String(err)}`;
      }
      if (reason !== undefined && this.live.has(s)) {
        this.forget(s);
        s.end(reason);
      }
    }
  }

  private arm(s: Session, atMs: number): void {
    const wait = atMs - this.now();
    s.timer = setTimeout(
      () => {
        if (!this.live.has(s)) return;
        if (atMs > this.now()) return this.arm(s, atMs);
        this.forget(s);
        s.end('the token expired');
      },
      Math.max(0, Math.min(wait, MAX_TIMER_MS)),
    );
    s.timer.unref();
  }

  private forget(s: Session): void {
    clearTimeout(s.timer);
    this.live.delete(s);
  }
}
