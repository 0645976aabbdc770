// JSON-family requests built by the ACM client's own serializer, decoded by kumo's JsonCodec; and
// outputs and errors encoded by kumo, parsed by the same client's deserializer.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ACMClient, DescribeCertificateCommand, ImportCertificateCommand, ListCertificatesCommand, RequestCertificateCommand } from '@aws-sdk/client-acm';
import { loadModel } from '../../src/models/loader.js';
import type { Operation } from '../../src/models/shapes.js';
import { AwsError } from '../../src/protocol/errors.js';
import { JsonCodec } from '../../src/protocol/json.js';
import { mirror, plain, toWire } from './sdk-wire.js';

const acm = new JsonCodec(loadModel('acm-2015-12-08'));

async function via(command: unknown, answer?: (op: Operation, input: Record<string, unknown>) => Record<string, unknown> | undefined) {
  const m = mirror(acm, answer);
  const client = new ACMClient(m.config);
  try {
    const output = await client.send(command as never);
    return { decoded: m.last().decoded, output, request: m.last().request };
  } finally {
    client.destroy();
  }
}

test('the operation comes from X-Amz-Target; blobs arrive as bytes, lists and structures as they were', async () => {
  const input = { Certificate: Buffer.from('-----BEGIN CERTIFICATE-----\nx\n'), PrivateKey: Buffer.from([0, 1, 2, 255]), Tags: [{ Key: 'k', Value: 'v ü' }] };
  const { decoded, request } = await via(new ImportCertificateCommand(input));
  assert.equal(request.headers['x-amz-target'], 'CertificateManager.ImportCertificate');
  assert.equal(request.headers['content-type'], 'application/x-amz-json-1.1');
  assert.equal(decoded.operation.name, 'ImportCertificate');
  assert.deepEqual(plain(decoded.input), plain(input));
});

test('nested structures and enums; integers', async () => {
  const input = { DomainName: 'a.example.com', SubjectAlternativeNames: ['b.example.com'], DomainValidationOptions: [{ DomainName: 'a.example.com', ValidationDomain: 'example.com' }], Options: { CertificateTransparencyLoggingPreference: 'DISABLED' as const } };
  assert.deepEqual((await via(new RequestCertificateCommand(input))).decoded.input, input);
  assert.deepEqual((await via(new ListCertificatesCommand({ MaxItems: 7, Includes: { keyTypes: ['EC_prime256v1'] } }))).decoded.input, { MaxItems: 7, Includes: { keyTypes: ['EC_prime256v1'] } });
});

test('outputs: timestamps as epoch seconds, lists, booleans; what the shape does not name stays out', async () => {
  const at = new Date('2025-03-04T05:06:07.000Z');
  const { output } = await via(new DescribeCertificateCommand({ CertificateArn: 'arn:x' }), () => ({
    Certificate: { CertificateArn: 'arn:x', NotAfter: at.toISOString(), CreatedAt: at, InUseBy: ['lb'], SubjectAlternativeNames: ['a'], Material: { privateKey: 'secret' } },
  }));
  const c = (output as unknown as { Certificate: Record<string, unknown> }).Certificate;
  assert.deepEqual(plain(c), { CertificateArn: 'arn:x', NotAfter: at.toISOString(), CreatedAt: at.toISOString(), InUseBy: ['lb'], SubjectAlternativeNames: ['a'] });
});

test('errors: the client sees the code; a wrong type is SerializationException, a required member left out ValidationException', async () => {
  await assert.rejects(via(new DescribeCertificateCommand({ CertificateArn: 'arn:x' }), () => {
    throw new AwsError('ResourceNotFoundException', 'gone', 400);
  }), (e: Error & { $metadata: { httpStatusCode: number } }) => e.name === 'ResourceNotFoundException' && e.message === 'gone' && e.$metadata.httpStatusCode === 400);
  const wire = (body: string) => toWire({ method: 'POST', protocol: 'http:', hostname: 'kumo.test', path: '/', query: {}, headers: { 'x-amz-target': 'CertificateManager.DescribeCertificate' }, body });
  const code = async (p: Promise<unknown>) => p.then(() => 'no error', (e: AwsError) => e.code);
  assert.equal(await code(acm.decode(wire('{"CertificateArn": 5}'))), 'SerializationException');
  assert.equal(await code(acm.decode(wire('not json'))), 'SerializationException');
  assert.equal(await code(acm.decode(wire('{}'))), 'ValidationException');
  assert.equal(await code(acm.decode({ ...wire('{}'), headers: { 'x-amz-target': 'CertificateManager.Nope' } })), 'UnknownOperationException');
});
