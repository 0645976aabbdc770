// Bugs inside kumo, planted in a stand-in service on the real edge: a handler that throws, one that
// rejects, an encoder that fails while answering the error too, a response body that fails half
// way. Each is logged and answered (500 InternalError in the service's format, or a cut
// connection once the answer has begun), and the server keeps serving.
import assert from 'node:assert/strict';
import type { Server } from 'node:http';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import type { Edge } from '../../src/edge/chain.js';
import { ServiceRouter } from '../../src/edge/route.js';
import { listen } from '../../src/edge/server.js';
import type { Service } from '../../src/services/service.js';
import { createStsService } from '../../src/services/sts/provider.js';

const lines: string[] = [];
let server: Server;
let url: string;

/** STS, with faults chosen per request by an `x-fault` header. */
function faultyService(): Service {
  const sts = createStsService();
  const codec = sts.codec;
  return {
    ...sts,
    handlers: {
      GetCallerIdentity: (ctx) => {
        const fault = ctx.headers?.['x-fault'];
        if (fault === 'throw') throw new TypeError('planted: handler threw');
        if (fault === 'reject') return Promise.reject(new RangeError('planted: handler rejected'));
        return { Account: ctx.account, fault };
      },
    },
    codec: {
      model: codec.model,
      operationName: (req) => codec.operationName(req),
      decode: (req) => codec.decode(req),
      encode(operation, output, requestId) {
        if (output?.fault === 'encoder') throw new Error('planted: encoder threw');
        if (output?.fault === 'midstream') {
          const body = new Readable({ read() {} });
          body.push('<GetCallerIdentityResponse>');
          setImmediate(() => body.destroy(new Error('planted: body failed')));
          return { status: 200, headers: { 'content-type': 'text/xml' }, body };
        }
        return codec.encode(operation, output, requestId);
      },
      encodeError(err, requestId, req) {
        if (req?.headers['x-fault'] === 'encoder') throw new Error('planted: error encoder threw');
        return codec.encodeError(err, requestId, req);
      },
    },
  };
}

before(async () => {
  const service = faultyService();
  const edge: Edge = {
    router: new ServiceRouter([service]),
    auth: { enabled: false, credentials: new Map(), defaultAccount: '000000000000', now: () => new Date() },
    defaultRegion: 'us-east-1',
    log: (line) => lines.push(line),
    accessLog: false,
    internal: async () => false,
    fallback: service,
  };
  const l = await listen(edge, '127.0.0.1', 0);
  server = l.server;
  url = `http://127.0.0.1:${l.port}/`;
});
after(async () => {
  server.closeAllConnections();
  await new Promise((r) => server.close(r));
});

const FORM = 'Action=GetCallerIdentity&Version=2011-06-15';

function call(fault?: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (fault) headers['x-fault'] = fault;
  return fetch(url, { method: 'POST', headers, body: FORM });
}

async function stillServing(): Promise<void> {
  const r = await call();
  assert.equal(r.status, 200);
  assert.match(await r.text(), /<Account>000000000000<\/Account>/);
}

describe('a bug in a request never ends the server', () => {
  for (const fault of ['throw', 'reject']) {
    test(`a handler that ${fault}s is InternalError in the service's format, logged`, async () => {
      const r = await call(fault);
      assert.equal(r.status, 500);
      assert.match(await r.text(), /<ErrorResponse[ >].*<Code>InternalError<\/Code>/s);
      assert.ok(lines.some((l) => l.includes(`planted: handler ${fault === 'throw' ? 'threw' : 'rejected'}`)), lines.join('\n'));
      await stillServing();
    });
  }

  test('an error encoder that throws too still gets a 500 InternalError, logged', async () => {
    const r = await call('encoder');
    assert.equal(r.status, 500);
    assert.match(await r.text(), /<Code>InternalError<\/Code>/);
    assert.ok(lines.some((l) => l.includes('error while answering') && l.includes('planted: error encoder threw')), lines.join('\n'));
    await stillServing();
  });

  test('a response body that fails after the headers went out cuts the connection, logged', async () => {
    const r = await call('midstream');
    assert.equal(r.status, 200);
    await assert.rejects(r.text());
    assert.ok(lines.some((l) => l.includes('response body failed') && l.includes('planted: body failed')), lines.join('\n'));
    await stillServing();
  });
});
