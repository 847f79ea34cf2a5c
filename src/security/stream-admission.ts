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
  let refused = false;
  let bound: string | undefined;
  const refuse = (err: unknown) => {
    if (refused) return;
    refused = true;
    waiting.length = 0;
    const e = err instanceof NerveError ? err : new NerveError('UNAUTHENTICATED', String(err));
    auth.onRefusal?.(admission.what, e.code, e.message, grpcPeer(call));
    const code =
      e.code === 'PERMISSION_DENIED'
        ? grpc.status.PERMISSION_DENIED
        : e.code === 'RESOURCE_EXHAUSTED'
          ? grpc.status.RESOURCE_EXHAUSTED
          : grpc.status.UNAUTHENTICATED;
    call.emit('error', { code, details: e.message });
  };
  /** The message's node is the stream's (an empty node id, as xDS allows after the first, is). */
  const sameNode = (r: Req): boolean => {
    const id = nodeIdOf(r);
    if (bound === undefined) bound = id;
    else if (id !== '' && id !== bound) {
      refuse(
        new NerveError(
          'PERMISSION_DENIED',
          `this ${admission.what} stream speaks for node ${echo(bound, 128)}; a message for node ${echo(id, 128)} is refused (one stream per node)`,
        ),
      );
      return false;
    }
    return true;
  };
  const waiting: Req[] = [];
  if (!auth.enabled) {
    onAuthenticated();
    call.on('data', (r: Req) => {
      if (!refused && sameNode(r)) onRequest(r);
    });
    return;
  }
  const credentials = grpcCredentials(call);
  let principal: Principal | undefined;
  const admits = (p: Principal) =>
    allows(p.role, DATAPLANE) || (admission.adminMaySubscribe === true && allows(p.role, 'admin'));
  const admitted = authenticateOpen(auth, credentials, grpcPeer(call).replace(/:\d+$/, '')).then((p) => {
    if (!admits(p))
      throw new NerveError(
        'PERMISSION_DENIED',
        `${admission.what} needs role ${DATAPLANE}${admission.adminMaySubscribe ? ' (or admin)' : ''}; ${p.name} holds ${p.role ?? 'no role'}`,
      );
    return p;
  });
  admitted.catch(refuse); // refused at once, whether or not a message has come
  const first = (r: Req, p: Principal) => {
    const nodeId = nodeIdOf(r);
    if (!mayActAs(p, nodeId, admission.adminMaySubscribe))
      throw new NerveError(
        'PERMISSION_DENIED',
        `${p.name} may not act as node ${echo(nodeId, 128)}: a data plane's node id must be its identity's name`,
      );
    principal = p;
    // Accepted: only now does the stream answer (headers, a first response), so a client refused for
    // its credentials or its node never mistakes the refusal for a connection.
    onAuthenticated();
    const untrack = auth.sessions.track(credentials, p, admits, (reason) =>
      refuse(new NerveError('UNAUTHENTICATED', `${admission.what} stream ended: ${reason}`)),
    );
    call.on('close', untrack);
  };
  call.on('data', (r: Req) => {
    if (refused) return;
    if (principal) {
      if (sameNode(r)) onRequest(r);
      return;
    }
    waiting.push(r);
    if (waiting.length > 1) return;
    admitted
      .then((p) => {
        first(waiting[0], p);
        for (const w of waiting.splice(0)) if (!refused && sameNode(w)) onRequest(w);
      })
      .catch(refuse);
  });
}
