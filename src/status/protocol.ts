/**
 * The control socket's conversation, shared by the daemon side (server.ts)
 * and the reader (client.ts): one JSON line each way. The request is
 * {@link STATUS_REQUEST}; the answer is `{ "ok": true, "status": DaemonStatus }`
 * or `{ "ok": false, "error": CODE, "message": TEXT }` with CODE one of
 * `unknown-command`, `unavailable`, `timeout`, `internal`, `malformed-request`,
 * `too-large`, `permission-denied`.
 */

/** Where `keepalived-ts status` looks unless told otherwise. */
export const DEFAULT_CONTROL_SOCKET = '/run/keepalived-ts.sock'

/** The one request the control socket knows today. */
export const STATUS_REQUEST = { version: 1, command: 'status' } as const
