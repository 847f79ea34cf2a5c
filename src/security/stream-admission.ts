import * as grpc from '@grpc/grpc-js';
import { NerveError } from '../model/errors';
import { echo } from '../model/echo';
import type { Principal } from '../model/security/principal';
import { allows, DATAPLANE } from '../model/security/roles';
import { authenticateOpen, type Authenticator } from './authenticator';
import { type CallWithCredentials, grpcCredentials, grpcPeer } from './grpc-credentials';

type Stream<Req> = CallWithCredentials & {
  getPeer(): string;
  on(event: 'data', listener: (r: Req) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  emit(event: 'error', err: { code: grpc.status; details: string }): boolean;
};

export interface StreamAdmission {
  /** What the stream is, in refusals ("xDS", "load reports"). */
  readonly what: string;
  /**
   * ADS only: an admin may subscribe as any node (debugging with grpcurl). Reports and LRS write what
   * the fleet acts on, so only a data plane may send them, and only as itself.
   */
  readonly adminMaySubscribe?: boolean;
}

/**
 * Whether `p` may open a data-plane stream as node `nodeId`: a data plane (role `dataplane`) as its own
 * name only (a router's token, key or certificate names its node), so a router cannot subscribe or
 * report as another (istio#24906); an admin any node on ADS when `adminMaySubscribe`; everyone with
 * authentication off.
 */
export function mayActAs(p: Principal, nodeId: string, adminMaySubscribe = false): boolean {
  if (p.via === 'none') return true;
  if (adminMaySubscribe && allows(p.role, 'admin')) return true;
  return allows(p.role, DATAPLANE) && nodeId === p.name;
}

/**
 * Admits a data-plane stream (ADS, load reports, LRS). The stream is bound to the node id of its first
 * message: a later message naming another node ends it (with authentication off too), so one stream
 * counts as one data plane. With authentication on, its credentials are checked once (they need role
 * `dataplane`, or admin on ADS), the first message's node id against them, and messages that come
 * while that runs wait; the stream ends when its credentials stop being good. A refused stream ends
 * with UNAUTHENTICATED or PERMISSION_DENIED and its reason, before any response; the server goes on.
 * With authentication off, messages go straight through: no promise, no buffering on the push path.
 */
export function admitStream<Req>(
  call: Stream<Req>,
  auth: Authenticator,
  nodeIdOf: (r: Req) => string,
  admission: StreamAdmission,
  onRequest: (r: Req) => void,
  /** Once the credentials are good (at once with authentication off): a stream may answer headers. */
  onAuthenticated: () => void = () => undefined,
): void {
  new Admission(call, auth, nodeIdOf, admission, onRequest, onAuthenticated).start();
}

/**
 * One stream's admission (admitStream): its state in fields and its listener a field of it, rather
 * than a closure and a context per part (a fleet's xDS streams each hold one for hours).
 */
class Admission<Req> {
  private refused = false;
  private bound: string | undefined;
  private principal: Principal | undefined;
  /** Messages that came while the credentials were being checked. */
  private waiting: Req[] | undefined;

  constructor(
    private readonly call: Stream<Req>,
    private readonly auth: Authenticator,
    private readonly nodeIdOf: (r: Req) => string,
    private readonly admission: StreamAdmission,
    private readonly onRequest: (r: Req) => void,
    private readonly onAuthenticated: () => void,
  ) {}

  start(): void {
    if (!this.auth.enabled) {
      this.onAuthenticated();
      this.call.on('data', this.onOpenData);
      return;
    }
    const credentials = grpcCredentials(this.call);
    const admission = this.admission;
    const admitted = authenticateOpen(this.auth, credentials, grpcPeer(this.call).replace(/:\d+$/, '')).then(
      (p) => {
        if (!this.admits(p))
          throw new NerveError(
            'PERMISSION_DENIED',
            `${admission.what} needs role ${DATAPLANE}${admission.adminMaySubscribe ? ' (or admin)' : ''}; ${p.name} holds ${p.role ?? 'no role'}`,
          );
        return p;
      },
    );
    admitted.catch(this.refuse); // refused at once, whether or not a message has come
    this.call.on('data', (r: Req) => {
      if (this.refused) return;
      if (this.principal) {
        if (this.sameNode(r)) this.onRequest(r);
        return;
      }
      const waiting = (this.waiting ??= []);
      waiting.push(r);
      if (waiting.length > 1) return;
      admitted
        .then((p) => {
          this.first(waiting[0], p, credentials);
          for (const w of waiting.splice(0)) if (!this.refused && this.sameNode(w)) this.onRequest(w);
        })
        .catch(this.refuse);
    });
  }

  /** Authentication off: messages go straight through, no promise, no buffering on the push path. */
  private readonly onOpenData = (r: Req): void => {
    if (!this.refused && this.sameNode(r)) this.onRequest(r);
  };

  private admits(p: Principal): boolean {
    return (
      allows(p.role, DATAPLANE) || (this.admission.adminMaySubscribe === true && allows(p.role, 'admin'))
    );
  }

  private readonly refuse = (err: unknown): void => {
    if (this.refused) return;
    this.refused = true;
    if (this.waiting) this.waiting.length = 0;
    const e = err instanceof NerveError ? err : new NerveError('UNAUTHENTICATED', String(err));
    this.auth.onRefusal?.(this.admission.what, e.code, e.message, grpcPeer(this.call));
    const code =
      e.code === 'PERMISSION_DENIED'
        ? grpc.status.PERMISSION_DENIED
        : e.code === 'RESOURCE_EXHAUSTED'
          ? grpc.status.RESOURCE_EXHAUSTED
          : grpc.status.UNAUTHENTICATED;
    this.call.emit('error', { code, details: e.message });
  };

  /** The message's node is the stream's (an empty node id, as xDS allows after the first, is). */
  private sameNode(r: Req): boolean {
    const id = this.nodeIdOf(r);
    if (this.bound === undefined) this.bound = id;
    else if (id !== '' && id !== this.bound) {
      this.refuse(
        new NerveError(
          'PERMISSION_DENIED',
          `this ${this.admission.what} stream speaks for node ${echo(this.bound, 128)}; a message for node ${echo(id, 128)} is refused (one stream per node)`,
        ),
      );
      return false;
    }
    return true;
  }

  private first(r: Req, p: Principal, credentials: ReturnType<typeof grpcCredentials>): void {
    const nodeId = this.nodeIdOf(r);
    if (!mayActAs(p, nodeId, this.admission.adminMaySubscribe))
      throw new NerveError(
        'PERMISSION_DENIED',
        `${p.name} may not act as node ${echo(nodeId, 128)}: a data plane's node id must be its identity's name`,
      );
    this.principal = p;
    // Accepted: only now does the stream answer (headers, a first response), so a client refused for
    // its credentials or its node never mistakes the refusal for a connection.
    this.onAuthenticated();
    const untrack = this.auth.sessions.track(
      credentials,
      p,
      (q) => this.admits(q),
      (reason) =>
        this.refuse(new NerveError('UNAUTHENTICATED', `${this.admission.what} stream ended: ${reason}`)),
    );
    this.call.on('close', untrack);
  }
}
