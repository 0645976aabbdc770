/**
 * ACM through @aws-sdk/client-acm against a real kumo (process runtime: no traffic here;
 * test/runtime/elb-https.test.ts serves these certificates): certificates kumo issues from its own
 * CA and certificates you import, described, listed, fetched, tagged, deleted (not while an HTTPS
 * listener uses one); ELBv2's HTTPS listeners, listener certificates and security policies, and
 * classic HTTPS listeners, over them. Also the json wire family's errors and /_kumo/ca.pem.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { X509Certificate } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import {
  ACMClient, AddTagsToCertificateCommand, DeleteCertificateCommand, DescribeCertificateCommand, GetCertificateCommand, ImportCertificateCommand,
  ListCertificatesCommand, ListTagsForCertificateCommand, RemoveTagsFromCertificateCommand, RequestCertificateCommand,
} from '@aws-sdk/client-acm';
import { CreateInternetGatewayCommand, AttachInternetGatewayCommand, CreateSubnetCommand, CreateSecurityGroupCommand, CreateVpcCommand, EC2Client } from '@aws-sdk/client-ec2';
import {
  AddListenerCertificatesCommand, CreateListenerCommand, CreateLoadBalancerCommand, DeleteListenerCommand, DescribeListenerCertificatesCommand,
  DescribeListenersCommand, DescribeSSLPoliciesCommand, ElasticLoadBalancingV2Client, ModifyListenerCommand, RemoveListenerCertificatesCommand,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { clientConfig, errorCode, useKumo, type TestKumo } from '../helpers/kumo.js';
import { awsJson, aws } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';

let kumo: TestKumo;
let acm: ACMClient;
// Setup in the one hook (node:test runs a file's before hooks concurrently).
useKumo((url) => new ACMClient(clientConfig(url)), async (f) => {
  kumo = f.kumo;
  acm = f.client;
  issuedArn = (await acm.send(new RequestCertificateCommand({ DomainName: 'www.example.com', SubjectAlternativeNames: ['example.com'], ValidationMethod: 'DNS', Tags: [{ Key: 'env', Value: 'test' }] }))).CertificateArn!;
  const own = selfSigned('shop.example.org');
  importedArn = (await acm.send(new ImportCertificateCommand({ Certificate: Buffer.from(own.cert), PrivateKey: Buffer.from(own.key) }))).CertificateArn!;
}, { runtime: 'process' });

/** A self-signed certificate and key made with openssl, as a user brings one. */
function selfSigned(cn: string, days = 30): { cert: string; key: string } {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-acm-'));
  try {
    execFileSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'k.pem', '-out', 'c.pem', '-days', String(days), '-subj', `/CN=${cn}`, '-addext', `subjectAltName=DNS:${cn}`], { cwd: dir, stdio: 'ignore' });
    return { cert: readFileSync(join(dir, 'c.pem'), 'utf8'), key: readFileSync(join(dir, 'k.pem'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

let issuedArn = '';
let importedArn = '';


test('RequestCertificate: ISSUED at once by kumo\'s CA, which /_kumo/ca.pem serves; DNS validation shown as done', async () => {
  assert.match(issuedArn, /^arn:aws:acm:ap-northeast-1:\d{12}:certificate\/[0-9a-f-]{36}$/);
  const c = (await acm.send(new DescribeCertificateCommand({ CertificateArn: issuedArn }))).Certificate!;
  assert.equal(c.Status, 'ISSUED');
  assert.equal(c.Type, 'AMAZON_ISSUED');
  assert.equal(c.DomainName, 'www.example.com');
  assert.deepEqual(c.SubjectAlternativeNames, ['www.example.com', 'example.com']);
  assert.equal(c.KeyAlgorithm, 'RSA-2048');
  assert.equal(c.Issuer, 'kumo');
  assert.ok(c.NotAfter! > new Date(Date.now() + 300 * 86_400_000));
  assert.deepEqual(c.InUseBy, []);
  const dv = c.DomainValidationOptions![0]!;
  assert.deepEqual([dv.ValidationMethod, dv.ValidationStatus, dv.ResourceRecord!.Type], ['DNS', 'SUCCESS', 'CNAME']);
  assert.match(dv.ResourceRecord!.Name!, /^_[0-9a-f]{32}\.www\.example\.com\.$/);
  const got = await acm.send(new GetCertificateCommand({ CertificateArn: issuedArn }));
  const res = await fetch(`${kumo.url}/_kumo/ca.pem`);
  assert.equal(res.status, 200);
  const caPem = await res.text();
  assert.equal(got.CertificateChain!.trim(), caPem.trim(), 'the chain is kumo\'s CA');
  const leaf = new X509Certificate(got.Certificate!);
  const ca = new X509Certificate(caPem);
  assert.ok(leaf.checkIssued(ca) && leaf.verify(ca.publicKey), 'signed by kumo\'s CA');
  assert.ok(ca.ca && leaf.checkHost('www.example.com') && leaf.checkHost('example.com'));
  assert.equal(readFileSync(join(kumo.dataDir, 'ca', 'ca.pem'), 'utf8'), caPem, 'the CA lives in the data dir');
});

test('ImportCertificate: facts read from the certificate; a key that does not match, two certificates, garbage are ValidationException', async () => {
  const c = (await acm.send(new DescribeCertificateCommand({ CertificateArn: importedArn }))).Certificate!;
  assert.deepEqual([c.Type, c.Status, c.DomainName, c.KeyAlgorithm, c.SignatureAlgorithm], ['IMPORTED', 'ISSUED', 'shop.example.org', 'RSA-2048', 'SHA256WITHRSA']);
  assert.ok(c.ImportedAt instanceof Date);
  const other = selfSigned('other.example.org');
  const own = selfSigned('x.example.org');
  assert.equal(await errorCode(acm.send(new ImportCertificateCommand({ Certificate: Buffer.from(own.cert), PrivateKey: Buffer.from(other.key) }))), 'ValidationException');
  assert.equal(await errorCode(acm.send(new ImportCertificateCommand({ Certificate: Buffer.from(own.cert + other.cert), PrivateKey: Buffer.from(own.key) }))), 'ValidationException');
  assert.equal(await errorCode(acm.send(new ImportCertificateCommand({ Certificate: Buffer.from('nope'), PrivateKey: Buffer.from(own.key) }))), 'ValidationException');
  // Re-import into the same ARN: new material, same ARN.
  const again = await acm.send(new ImportCertificateCommand({ CertificateArn: importedArn, Certificate: Buffer.from(own.cert), PrivateKey: Buffer.from(own.key) }));
  assert.equal(again.CertificateArn, importedArn);
  assert.equal((await acm.send(new DescribeCertificateCommand({ CertificateArn: importedArn }))).Certificate!.DomainName, 'x.example.org');
});

test('ListCertificates: RSA_2048 by default, other key types when asked; statuses; paging', async () => {
  const ecArn = (await acm.send(new RequestCertificateCommand({ DomainName: 'ec.example.com', KeyAlgorithm: 'EC_prime256v1' }))).CertificateArn!;
  const listed = async (input: object = {}) => ((await acm.send(new ListCertificatesCommand(input))).CertificateSummaryList ?? []).map((c) => c.CertificateArn);
  const plain = await listed();
  assert.ok(plain.includes(issuedArn) && plain.includes(importedArn));
  assert.ok(!plain.includes(ecArn), 'EC certificates only when Includes.keyTypes asks');
  assert.ok((await listed({ Includes: { keyTypes: ['EC_prime256v1'] } })).includes(ecArn));
  assert.deepEqual(await listed({ CertificateStatuses: ['EXPIRED'] }), []);
  const first = await acm.send(new ListCertificatesCommand({ MaxItems: 1 }));
  assert.equal(first.CertificateSummaryList!.length, 1);
  const second = await acm.send(new ListCertificatesCommand({ MaxItems: 1, NextToken: first.NextToken }));
  assert.notEqual(second.CertificateSummaryList![0]!.CertificateArn, first.CertificateSummaryList![0]!.CertificateArn);
  const summary = (await acm.send(new ListCertificatesCommand({}))).CertificateSummaryList!.find((c) => c.CertificateArn === issuedArn)!;
  assert.deepEqual([summary.DomainName, summary.Status, summary.Type, summary.InUse], ['www.example.com', 'ISSUED', 'AMAZON_ISSUED', false]);
  await acm.send(new DeleteCertificateCommand({ CertificateArn: ecArn }));
});

test('tags: add, list, remove (by key, or by key and value); aws: keys refused', async () => {
  await acm.send(new AddTagsToCertificateCommand({ CertificateArn: issuedArn, Tags: [{ Key: 'team', Value: 'web' }, { Key: 'tier', Value: 'front' }] }));
  const tags = async () => (await acm.send(new ListTagsForCertificateCommand({ CertificateArn: issuedArn }))).Tags!.map((t) => `${t.Key}=${t.Value}`).sort();
  assert.deepEqual(await tags(), ['env=test', 'team=web', 'tier=front']);
  await acm.send(new RemoveTagsFromCertificateCommand({ CertificateArn: issuedArn, Tags: [{ Key: 'team', Value: 'other' }, { Key: 'tier' }] }));
  assert.deepEqual(await tags(), ['env=test', 'team=web'], 'a tag given with another value stays');
  assert.equal(await errorCode(acm.send(new AddTagsToCertificateCommand({ CertificateArn: issuedArn, Tags: [{ Key: 'aws:x', Value: 'y' }] }))), 'InvalidTagException');
});

test('errors: unknown ARN, malformed ARN, a request without its required member, a bad signature', async () => {
  const unknown = 'arn:aws:acm:ap-northeast-1:000000000000:certificate/00000000-0000-0000-0000-000000000000';
  assert.equal(await errorCode(acm.send(new DescribeCertificateCommand({ CertificateArn: unknown }))), 'ResourceNotFoundException');
  assert.equal(await errorCode(acm.send(new DescribeCertificateCommand({ CertificateArn: 'nope' }))), 'ValidationException');
  const res = await fetch(kumo.url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-amz-json-1.1', 'x-amz-target': 'CertificateManager.DescribeCertificate' },
    body: '{}',
  });
  const body = (await res.json()) as { __type: string };
  assert.deepEqual([res.status, body.__type], [400, 'MissingAuthenticationTokenException'], 'routed by X-Amz-Target, answered in JSON');
  const bad = new ACMClient(clientConfig(kumo.url, { credentials: { accessKeyId: 'test', secretAccessKey: 'wrong' } }));
  assert.equal(await errorCode(bad.send(new ListCertificatesCommand({}))), 'InvalidSignatureException');
  bad.destroy();
});

test('ELBv2 HTTPS listeners: ACM certificates, SNI certificates, security policies; DeleteCertificate refused while in use', async () => {
  const ec2 = new EC2Client(clientConfig(kumo.url));
  const elb = new ElasticLoadBalancingV2Client(clientConfig(kumo.url));
  try {
    const vpc = (await ec2.send(new CreateVpcCommand({ CidrBlock: '10.9.0.0/16' }))).Vpc!.VpcId!;
    const igw = (await ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
    await ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: vpc }));
    const subnets = [];
    for (const [cidr, zone] of [['10.9.0.0/24', 'ap-northeast-1a'], ['10.9.1.0/24', 'ap-northeast-1c']]) subnets.push((await ec2.send(new CreateSubnetCommand({ VpcId: vpc, CidrBlock: cidr, AvailabilityZone: zone }))).Subnet!.SubnetId!);
    const sg = (await ec2.send(new CreateSecurityGroupCommand({ VpcId: vpc, GroupName: 'tls-sg', Description: 'tls' }))).GroupId!;
    const lb = (await elb.send(new CreateLoadBalancerCommand({ Name: 'tls-alb', Subnets: subnets, SecurityGroups: [sg] }))).LoadBalancers![0]!;
    const fixed = [{ Type: 'fixed-response' as const, FixedResponseConfig: { StatusCode: '200', MessageBody: 'ok' } }];
    assert.equal(await errorCode(elb.send(new CreateListenerCommand({ LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'HTTPS', Port: 443, DefaultActions: fixed }))), 'ValidationError');
    const iam = 'arn:aws:iam::000000000000:server-certificate/site';
    assert.equal(await errorCode(elb.send(new CreateListenerCommand({ LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'HTTPS', Port: 443, Certificates: [{ CertificateArn: iam }], DefaultActions: fixed }))), 'CertificateNotFoundException');
    assert.equal(await errorCode(elb.send(new CreateListenerCommand({
      LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'HTTPS', Port: 443, Certificates: [{ CertificateArn: issuedArn }], SslPolicy: 'no-such-policy', DefaultActions: fixed,
    }))), 'SSLPolicyNotFoundException');
    const listener = (await elb.send(new CreateListenerCommand({ LoadBalancerArn: lb.LoadBalancerArn, Protocol: 'HTTPS', Port: 443, Certificates: [{ CertificateArn: issuedArn }], DefaultActions: fixed }))).Listeners![0]!;
    assert.deepEqual([listener.SslPolicy, listener.Certificates], ['ELBSecurityPolicy-2016-08', [{ CertificateArn: issuedArn }]]);
    await elb.send(new AddListenerCertificatesCommand({ ListenerArn: listener.ListenerArn, Certificates: [{ CertificateArn: importedArn }] }));
    const certs = (await elb.send(new DescribeListenerCertificatesCommand({ ListenerArn: listener.ListenerArn }))).Certificates!;
    assert.deepEqual(certs.map((c) => [c.CertificateArn, c.IsDefault]), [[issuedArn, true], [importedArn, false]]);
    assert.equal(await errorCode(elb.send(new RemoveListenerCertificatesCommand({ ListenerArn: listener.ListenerArn, Certificates: [{ CertificateArn: issuedArn }] }))), 'OperationNotPermittedException');
    assert.deepEqual((await acm.send(new DescribeCertificateCommand({ CertificateArn: importedArn }))).Certificate!.InUseBy, [lb.LoadBalancerArn]);
    assert.equal(await errorCode(acm.send(new DeleteCertificateCommand({ CertificateArn: importedArn }))), 'ResourceInUseException');
    await elb.send(new RemoveListenerCertificatesCommand({ ListenerArn: listener.ListenerArn, Certificates: [{ CertificateArn: importedArn }] }));
    assert.deepEqual((await acm.send(new DescribeCertificateCommand({ CertificateArn: importedArn }))).Certificate!.InUseBy, []);
    const modified = (await elb.send(new ModifyListenerCommand({ ListenerArn: listener.ListenerArn, SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06' }))).Listeners![0]!;
    assert.deepEqual([modified.SslPolicy, modified.Certificates![0]!.CertificateArn], ['ELBSecurityPolicy-TLS13-1-2-2021-06', issuedArn]);
    const described = (await elb.send(new DescribeListenersCommand({ ListenerArns: [listener.ListenerArn!] }))).Listeners![0]!;
    assert.equal(described.Protocol, 'HTTPS');
    const policies = (await elb.send(new DescribeSSLPoliciesCommand({ Names: ['ELBSecurityPolicy-TLS13-1-2-2021-06'] }))).SslPolicies!;
    assert.deepEqual(policies[0]!.SslProtocols, ['TLSv1.2', 'TLSv1.3']);
    assert.equal(policies[0]!.Ciphers![0]!.Name, 'TLS_AES_128_GCM_SHA256');
    assert.ok((await elb.send(new DescribeSSLPoliciesCommand({}))).SslPolicies!.length >= 8);
    // Back to HTTP: the certificate is free again.
    await elb.send(new ModifyListenerCommand({ ListenerArn: listener.ListenerArn, Protocol: 'HTTP', Port: 80 }));
    assert.deepEqual((await acm.send(new DescribeCertificateCommand({ CertificateArn: issuedArn }))).Certificate!.InUseBy, []);
    await elb.send(new DeleteListenerCommand({ ListenerArn: listener.ListenerArn }));
  } finally {
    ec2.destroy();
    elb.destroy();
  }
});

test('classic HTTPS listeners take an ACM certificate (aws CLI); SetLoadBalancerListenerSSLCertificate swaps it', { skip: missing('aws') }, async () => {
  const url = kumo.url;
  const second = (await acm.send(new RequestCertificateCommand({ DomainName: 'classic.example.com' }))).CertificateArn!;
  await awsJson(url, ['elb', 'create-load-balancer', '--load-balancer-name', 'tls-classic', '--availability-zones', 'ap-northeast-1a',
    '--listeners', `Protocol=HTTPS,LoadBalancerPort=443,InstanceProtocol=HTTP,InstancePort=80,SSLCertificateId=${second}`]);
  type Described = { LoadBalancerDescriptions: { ListenerDescriptions: { Listener: { SSLCertificateId?: string } }[] }[] };
  const cert = async () => (await awsJson<Described>(url, ['elb', 'describe-load-balancers', '--load-balancer-names', 'tls-classic'])).LoadBalancerDescriptions[0]!.ListenerDescriptions[0]!.Listener.SSLCertificateId;
  assert.equal(await cert(), second);
  assert.match((await aws(url, ['acm', 'delete-certificate', '--certificate-arn', second])).stderr, /ResourceInUseException/);
  await awsJson(url, ['elb', 'set-load-balancer-listener-ssl-certificate', '--load-balancer-name', 'tls-classic', '--load-balancer-port', '443', '--ssl-certificate-id', issuedArn]);
  assert.equal(await cert(), issuedArn);
  const missingCert = await aws(url, ['elb', 'create-load-balancer-listeners', '--load-balancer-name', 'tls-classic',
    '--listeners', 'Protocol=SSL,LoadBalancerPort=8443,InstanceProtocol=TCP,InstancePort=80,SSLCertificateId=arn:aws:iam::000000000000:server-certificate/x']);
  assert.match(missingCert.stderr, /CertificateNotFound/);
  await aws(url, ['elb', 'delete-load-balancer', '--load-balancer-name', 'tls-classic']);
  await awsJson(url, ['acm', 'delete-certificate', '--certificate-arn', second]);
});
