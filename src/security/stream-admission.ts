import * as grpc from '@grpc/grpc-js';
import { AdminError } from '../control-plane/admin/admin-error';
import { echo } from '../model/echo';
import type { Principal } from '../model/security/principal';
import { authorize, type Authenticator } from './authenticator';
import { type CallWithCredentials, grpcCredentials } from './grpc-credentials';

type Stream<Req> = CallWithCredentials & {
  on(event: 'data', listener: (r: Req) => void): unknown;
  emit(event: 'error', err: { code: grpc.status; details: string }): boolean;
};

/**
 * Whether `p` may speak for data-plane node `nodeId`: its own name only (a router's token, key or
 * certificate names its node), so a router cannot subscribe or report as another (istio#24906). Admins
 * may use any node id (debugging with grpcurl); with authentication off everyone may.
 */
export function mayActAs(p: Principal, nodeId: string): boolean {
  return p.via === 'none' || p.role === 'admin' || nodeId === p.name;
}

/**
 * Admits a data-plane stream (ADS, load reports, LRS): authenticates its credentials once, checks the
 * node id of its first message against them, and hands each message to `onRequest` in order (messages
 * that come while credentials are checked wait). A refused stream ends with UNAUTHENTICATED or
 * PERMISSION_DENIED and its reason; the server goes on. With authentication off, messages go straight
 * through: no promise, no buffering on the push path.
 */
export function admitStream<Req>(
  call: Stream<Req>,
  auth: Authenticator,
  nodeIdOf: (r: Req) => string,
  what: string,
  onRequest: (r: Req) => void,
  /** Once the credentials are good (at once with authentication off): a stream may answer headers. */
  onAuthenticated: () => void = () => undefined,
): void {
  if (!auth.enabled) {
    onAuthenticated();
    call.on('data', onRequest);
    return;
  }
  let principal: Principal | undefined;
  let refused = false;
  const waiting: Req[] = [];
  const refuse = (err: unknown) => {
    if (refused) return;
    refused = true;
    waiting.length = 0;
    const e = err instanceof AdminError ? err : new AdminError('UNAUTHENTICATED', String(err));
    const code = e.code === 'PERMISSION_DENIED' ? grpc.status.PERMISSION_DENIED : grpc.status.UNAUTHENTICATED;
    call.emit('error', { code, details: e.message });
  };
  const admitted = auth.authenticate(grpcCredentials(call)).then((p) => {
    authorize(p, 'viewer', what);
    onAuthenticated();
    return p;
  });
  admitted.catch(refuse); // refused at once, whether or not a message has come
  const first = (r: Req, p: Principal) => {
    const nodeId = nodeIdOf(r);
    if (!mayActAs(p, nodeId))
      throw new AdminError(
        'PERMISSION_DENIED',
        `${p.name} may not act as node ${echo(nodeId, 128)}: a data plane's node id must be its identity's name`,
      );
    principal = p;
  };
  call.on('data', (r: Req) => {
    if (refused) return;
    if (principal) return onRequest(r);
    waiting.push(r);
    if (waiting.length > 1) return;
    admitted
      .then((p) => {
        first(waiting[0], p);
        for (const w of waiting.splice(0)) onRequest(w);
      })
      .catch(refuse);
  });
}
