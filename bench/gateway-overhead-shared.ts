/** Constants shared by the gateway-overhead driver and its server children. */

/** The secret the driver signs its token with. */
export const OVERHEAD_JWT_SECRET = "overhead-bench-secret-0123456789";
/** The user the driver's token names; the servers' fake database says it owns every aggregate. */
export const OVERHEAD_USER_ID = "0b9f3a52-7c1e-4d8a-9f3e-2a6b5c4d3e21";
