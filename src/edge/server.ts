/**
 * The one HTTP server (default 127.0.0.1:4566). It only accepts connections and hands each
 * request to the chain; how long it waits on clients and how many it takes is ./connections.ts;
 * listen errors become messages a person can act on.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTlsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { handle, type Edge } from './chain.js';
import { limitConnections, serverOptions, type ConnectionLimits } from './connections.js';

/** Hands a server's requests to the chain, with the chain's connection limits. */
function attach(server: Server, edge: Edge, limits: ConnectionLimits): void {
  const serve = (req: IncomingMessage, res: ServerResponse) => {
    // handle() answers its own failures; this only catches a bug in that answering itself.
    handle(edge, req, res).catch((e) => {
      edge.log(`request failed past its last resort: ${(e as Error)?.stack ?? String(e)}`);
      res.destroy();
    });
  };
  server.on('request', serve);
  // Expect: 100-continue is the chain's to answer: the go-ahead goes out only once the body is
  // wanted, so a caller who will be refused gets the refusal instead (./body.ts).
  server.on('checkContinue', serve);
  limitConnections(server, limits, edge.log);
}

/** The same chain over TLS (AWS's endpoints by their real names, inside VPCs: ./vpc-endpoints.ts). */
export function tlsServer(edge: Edge, limits: ConnectionLimits, tls: { key: string; cert: string }): Server {
  const server = createTlsServer({ ...serverOptions(limits), ...tls });
  attach(server, edge, limits);
  return server;
}

export async function listen(edge: Edge, host: string, port: number, limits: ConnectionLimits): Promise<{ server: Server; port: number }> {
  const server = createServer(serverOptions(limits));
  attach(server, edge, limits);
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: NodeJS.ErrnoException) => {
      if (e.code === 'EADDRINUSE') reject(new Error(`port ${port} on ${host} is already in use (is another kumo running? try 'kumo status')`));
      else if (e.code === 'EACCES') reject(new Error(`not allowed to listen on ${host}:${port}`));
      else if (e.code === 'EADDRNOTAVAIL') reject(new Error(`address ${host} is not available on this machine`));
      else reject(e);
    });
    server.listen(port, host, () => resolve());
  });
  return { server, port: (server.address() as AddressInfo).port };
}
