/**
 * How long kumo waits on a client, and how many it serves at once, so that no local process can
 * hold kumo's connections (and file descriptors) open for free. Like S3, which closes a connection
 * idle for about 20 seconds:
 *
 *   - headers must arrive whole within the idle timeout of their first byte (or of the connect);
 *   - a body may take as long as it needs while it keeps moving (a multi-gigabyte upload on a slow
 *     link), but a pause longer than the idle timeout ends the connection;
 *   - a response the client stops reading, and a keep-alive connection with no next request,
 *     end the same way;
 *   - while kumo itself works on a request (the request is all in and no answer has started) the
 *     connection is not idle, however long that takes;
 *   - past `maxConnections` open connections, a new one is closed at once, unanswered (clients
 *     retry a reset connection), and kumo says so in its log.
 */
import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface ConnectionLimits {
  idleTimeoutMs: number;
  maxConnections: number;
}

/** How often to refuse-log at most, so a flood of refused connections is one line, not a flood. */
const DROP_LOG_EVERY_MS = 10_000;

/** Options for createServer: Node checks header deadlines only on this interval (30 s by default). */
export function serverOptions(limits: ConnectionLimits) {
  return { connectionsCheckingInterval: Math.max(50, Math.min(1000, Math.floor(limits.idleTimeoutMs / 4))) };
}

export function limitConnections(server: Server, limits: ConnectionLimits, log: (line: string) => void): void {
  server.headersTimeout = limits.idleTimeoutMs;
  // A whole-request deadline would cut off a long upload that is still moving; the idle timeout
  // below ends the ones that stopped.
  server.requestTimeout = 0;
  server.keepAliveTimeout = limits.idleTimeoutMs;
  server.timeout = limits.idleTimeoutMs;
  server.maxConnections = limits.maxConnections;

  const inFlight = new WeakMap<Socket, Set<ServerResponse>>();
  server.on('request', (req: IncomingMessage, res: ServerResponse) => {
    const socket = req.socket;
    const set = inFlight.get(socket) ?? new Set();
    inFlight.set(socket, set);
    set.add(res);
    res.once('close', () => set.delete(res));
  });
  // Node leaves an idle socket open once anyone listens for 'timeout': decide here.
  server.on('timeout', (socket: Socket) => {
    const kumoIsWorking = [...(inFlight.get(socket) ?? [])].some((res) => res.req.complete && !res.headersSent);
    if (!kumoIsWorking) socket.destroy();
  });

  let refused = 0;
  let loggedAt = -Infinity;
  server.on('drop', () => {
    refused++;
    if (Date.now() - loggedAt < DROP_LOG_EVERY_MS) return;
    loggedAt = Date.now();
    log(`refusing new connections: ${limits.maxConnections} are open, the most kumo serves (KUMO_MAX_CONNECTIONS); ${refused} refused so far`);
  });
}
