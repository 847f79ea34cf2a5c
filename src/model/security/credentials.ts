/** What a caller presented, whatever the transport (HTTP headers, gRPC metadata, a TLS handshake). */
export interface Credentials {
  /** `Authorization` header: `Bearer <JWT>` (or `Bearer <API key>`, for clients that only send bearers). */
  readonly authorization?: string;
  /** `X-API-Key` header. */
  readonly apiKey?: string;
  /** The verified client certificate's identity (SPIFFE URI or common name), when mTLS is on. */
  readonly certificate?: string;
}
