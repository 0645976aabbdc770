// Bugs inside kumo, planted in a stand-in service on the real edge: a handler that throws, one that
// rejects, an encoder that fails while answering the error too, a response body that fails half
// way. Each is logged and answered (500 InternalError in the service's format, or a cut
// connection once the answer has begun), and the server keeps serving.
import assert from 'node:assert/strict';
import { Readable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { startStubEdge, STUB_FORM, type StubEdge } from './stub-edge.js';

let stub: StubEdge;

before(async () => {
  stub = await startStubEdge({
    // Faults are chosen per request by an `x-fault` header.
    handler: (ctx) => {
      const fault = ctx.headers?.['x-fault'];
      if (fault === 'throw') throw new TypeError('planted: handler threw');
      if (fault === 'reject') return Promise.reject(new RangeError('planted: handler rejected'));
      return { Account: ctx.account, fault };
    },
    codec: (sts) => ({
      model: sts.model,
      traits: sts.traits,
      operationName: (req) => sts.operationName(req),
      decode: (req) => sts.decode(req),
      encode(operation, output, requestId) {
        if (output?.fault === 'encoder') throw new Error('planted: encoder threw');
        if (output?.fault === 'midstream') {
          const body = new Readable({ read() {} });
          body.push('<GetCallerIdentityResponse>');
          setImmediate(() => body.destroy(new Error('planted: body failed')));
          return { status: 200, headers: { 'content-type': 'text/xml' }, body };
        }
        return sts.encode(operation, output, requestId);
      },
      encodeError(err, requestId, req) {
        if (req?.headers['x-fault'] === 'encoder') throw new Error('planted: error encoder threw');
        return sts.encodeError(err, requestId, req);
      },
    }),
  });
});
after(() => stub.close());

function call(fault?: string): Promise<Response> {
  const headers: Record<string, string> = { 'content-type': 'application/x-www-form-urlencoded' };
  if (fault) headers['x-fault'] = fault;
  return fetch(stub.url, { method: 'POST', headers, body: STUB_FORM });
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
      assert.ok(stub.lines.some((l) => l.includes(`planted: handler ${fault === 'throw' ? 'threw' : 'rejected'}`)), stub.lines.join('\n'));
      await stillServing();
    });
  }

  test('an error encoder that throws too still gets a 500 InternalError, logged', async () => {
    const r = await call('encoder');
    assert.equal(r.status, 500);
    assert.match(await r.text(), /<Code>InternalError<\/Code>/);
    assert.ok(stub.lines.some((l) => l.includes('error while answering') && l.includes('planted: error encoder threw')), stub.lines.join('\n'));
    await stillServing();
  });

  test('a response body that fails after the headers went out cuts the connection, logged', async () => {
    const r = await call('midstream');
    assert.equal(r.status, 200);
    await assert.rejects(r.text());
    assert.ok(stub.lines.some((l) => l.includes('response body failed') && l.includes('planted: body failed')), stub.lines.join('\n'));
    await stillServing();
  });
});
