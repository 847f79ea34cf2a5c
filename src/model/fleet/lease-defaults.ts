/** A registration lease's TTL when the registration asks for none (the control plane's and the engines' default). */
export const DEFAULT_LEASE_TTL_MS = 15_000;
