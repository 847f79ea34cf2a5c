import type * as grpc from '@grpc/grpc-js';
import type { AdminContext } from './admin-context';

/**
 * How admin gRPC runs a command: the handler gets the request and the caller's context, and its
 * answer or NerveError becomes the call's reply or status (admin/admin-grpc.ts makes it).
 */
export type Unary = <Req, Res>(
  fn: (req: Req, ctx: AdminContext) => Promise<Res>,
) => grpc.handleUnaryCall<Req, Res>;
