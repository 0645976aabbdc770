/**
 * The real edge (chain and server) around a stand-in service, for what no real service will do on
 * demand: fail in planted ways, or take its time. The stand-in is STS with its codec and handler
 * swapped as the test needs; requests are unsigned forms (auth off).
 */
import type { Server } from 'node:http';
import type { Edge } from '../../src/edge/chain.js';
import type { ConnectionLimits } from '../../src/edge/connections.js';
import { Routes } from '../../src/edge/route.js';
import { listen } from '../../src/edge/server.js';
import type { Codec } from '../../src/protocol/types.js';
import type { Handler, Service } from '../../src/services/service.js';
import { createStsService } from '../../src/services/sts/provider.js';
import { NO_COMMITS } from '../../src/state/group-commit.js';

export interface StubEdge {
  url: string;
  server: Server;
  /** What the edge logged. */
  lines: string[];
  close(): Promise<void>;
}

export const STUB_FORM = 'Action=GetCallerIdentity&Version=2011-06-15';

export async function startStubEdge(
  o: { handler: Handler; codec?: (sts: Codec) => Codec; limits?: ConnectionLimits },
): Promise<StubEdge> {
  const sts = createStsService();
  const service: Service = { ...sts, handlers: { GetCallerIdentity: o.handler }, codec: o.codec ? o.codec(sts.codec) : sts.codec };
  const lines: string[] = [];
  const router = new Routes([]);
  router.open([service]);
  const edge: Edge = {
    router,
    auth: { enabled: false, credentials: new Map(), defaultAccount: '000000000000', now: () => new Date() },
    defaultRegion: 'us-east-1',
    log: (line) => lines.push(line),
    accessLog: false,
    internal: async () => false,
    fallback: service,
    commits: NO_COMMITS,
  };
  const { server, port } = await listen(edge, '127.0.0.1', 0, o.limits ?? { idleTimeoutMs: 20_000, maxConnections: 100 });
  return {
    url: `http://127.0.0.1:${port}/`,
    server,
    lines,
    async close() {
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    },
  };
}
