import type { Authenticator } from './authenticator';
import type { CallLimits } from './call-limits';

/**
 * Who may call and how often: what every transport (REST, admin gRPC, the feeds) checks before it
 * hands a call to the control plane's commands and views, which never see a caller they must refuse.
 */
export interface CallGate {
  readonly auth: Authenticator;
  readonly limits: CallLimits;
}
