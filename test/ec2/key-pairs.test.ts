// EC2 key pairs through @aws-sdk/client-ec2 v3 (and the aws CLI) against a real kumo. Keys are
// checked as real: ssh-keygen derives the public key from the private key kumo hands out, and
// fingerprints are recomputed here with node:crypto, independently of kumo's code.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash, createHmac, createPrivateKey, createPublicKey, generateKeyPairSync } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  CreateKeyPairCommand,
  CreateTagsCommand,
  DeleteKeyPairCommand,
  DescribeKeyPairsCommand,
  DescribeTagsCommand,
  EC2Client,
  ImportKeyPairCommand,
} from '@aws-sdk/client-ec2';
import { clientConfig, errorCode, startKumoForTest, uniqueName, type TestKumo } from '../helpers/kumo.js';
import { awsJson } from '../helpers/python.js';
import { missing } from '../helpers/tools.js';

let kumo: TestKumo;
let ec2: EC2Client;
let dir: string;

before(async () => {
  kumo = await startKumoForTest();
  ec2 = new EC2Client(clientConfig(kumo.url));
  dir = mkdtempSync(join(tmpdir(), 'kumo-keys-'));
});
after(async () => {
  ec2.destroy();
  await kumo.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** `ssh-keygen -y`: the public key OpenSSH derives from a private key file (mode 600). */
function derivePublic(privateKey: string, label: string): string {
  const file = join(dir, label);
  writeFileSync(file, `${privateKey}\n`, { mode: 0o600 });
  return execFileSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' }).trim();
}

const twoFields = (line: string) => line.split(' ').slice(0, 2).join(' ');
const colonHex = (b: Buffer) => [...b].map((x) => x.toString(16).padStart(2, '0')).join(':');

async function describeOne(name: string) {
  const { KeyPairs } = await ec2.send(new DescribeKeyPairsCommand({ KeyNames: [name], IncludePublicKey: true }));
  assert.equal(KeyPairs!.length, 1);
  return KeyPairs![0];
}

describe('CreateKeyPair', () => {
  test('rsa: PKCS#1 PEM that OpenSSH accepts, SHA-1 of PKCS#8 fingerprint', { skip: missing('ssh-keygen') }, async () => {
    const name = uniqueName('rsa');
    const created = await ec2.send(
      new CreateKeyPairCommand({ KeyName: name, TagSpecifications: [{ ResourceType: 'key-pair', Tags: [{ Key: 'team', Value: 'web' }] }] }),
    );
    assert.match(created.KeyPairId!, /^key-[0-9a-f]{17}$/);
    assert.equal(created.KeyName, name);
    assert.deepEqual(created.Tags, [{ Key: 'team', Value: 'web' }]);
    assert.match(created.KeyMaterial!, /^-----BEGIN RSA PRIVATE KEY-----\n[\s\S]+\n-----END RSA PRIVATE KEY-----$/);

    const priv = createPrivateKey(created.KeyMaterial!);
    assert.equal(priv.asymmetricKeyDetails!.modulusLength, 2048);
    const sha1 = createHash('sha1').update(priv.export({ format: 'der', type: 'pkcs8' })).digest();
    assert.equal(created.KeyFingerprint, colonHex(sha1));

    const info = await describeOne(name);
    assert.equal(info.KeyPairId, created.KeyPairId);
    assert.equal(info.KeyType, 'rsa');
    assert.equal(info.KeyFingerprint, created.KeyFingerprint);
    assert.ok(info.CreateTime instanceof Date && Math.abs(info.CreateTime.getTime() - Date.now()) < 60_000);
    assert.deepEqual(info.Tags, [{ Key: 'team', Value: 'web' }]);
    assert.match(info.PublicKey!, new RegExp(`^ssh-rsa AAAA[A-Za-z0-9+/=]+ ${name}$`));
    assert.equal(twoFields(derivePublic(created.KeyMaterial!, `${name}.pem`)), twoFields(info.PublicKey!));

    const { KeyPairs } = await ec2.send(new DescribeKeyPairsCommand({ KeyNames: [name] }));
    assert.equal(KeyPairs![0].PublicKey, undefined, 'PublicKey only with IncludePublicKey');
  });

  test('ed25519: OpenSSH private key, base64 SHA-256 fingerprint of the public blob', { skip: missing('ssh-keygen') }, async () => {
    const name = uniqueName('ed');
    const created = await ec2.send(new CreateKeyPairCommand({ KeyName: name, KeyType: 'ed25519' }));
    assert.match(created.KeyMaterial!, /^-----BEGIN OPENSSH PRIVATE KEY-----\n[\s\S]+\n-----END OPENSSH PRIVATE KEY-----$/);
    const info = await describeOne(name);
    assert.equal(info.KeyType, 'ed25519');
    const blob = Buffer.from(info.PublicKey!.split(' ')[1], 'base64');
    assert.equal(created.KeyFingerprint, createHash('sha256').update(blob).digest('base64'));
    // The blob's last 32 bytes are the raw key; node agrees it is an ed25519 public key.
    const raw = blob.subarray(blob.length - 32);
    createPublicKey({ format: 'jwk', key: { kty: 'OKP', crv: 'Ed25519', x: raw.toString('base64url') } });
    assert.equal(twoFields(derivePublic(created.KeyMaterial!, name)), twoFields(info.PublicKey!));
    const printed = execFileSync('ssh-keygen', ['-l', '-f', join(dir, name)], { encoding: 'utf8' });
    assert.ok(printed.includes(`SHA256:${created.KeyFingerprint!.replace(/=+$/, '')}`), printed);
  });

  test('bad input changes nothing', async () => {
    const name = uniqueName('bad');
    await ec2.send(new CreateKeyPairCommand({ KeyName: name }));
    assert.equal(await errorCode(ec2.send(new CreateKeyPairCommand({ KeyName: name }))), 'InvalidKeyPair.Duplicate');
    assert.equal(await errorCode(ec2.send(new CreateKeyPairCommand({ KeyName: 'x'.repeat(256) }))), 'InvalidParameterValue');
    assert.equal(await errorCode(ec2.send(new CreateKeyPairCommand({ KeyName: 'ключ' }))), 'InvalidParameterValue');
    const other = uniqueName('other');
    assert.equal(await errorCode(ec2.send(new CreateKeyPairCommand({ KeyName: other, KeyType: 'dsa' as never }))), 'InvalidParameterValue');
    assert.equal(await errorCode(ec2.send(new CreateKeyPairCommand({ KeyName: other, KeyFormat: 'pkcs8' as never }))), 'InvalidParameterValue');
    assert.equal(
      await errorCode(ec2.send(new CreateKeyPairCommand({ KeyName: other, TagSpecifications: [{ ResourceType: 'vpc', Tags: [] }] }))),
      'InvalidParameterValue',
    );
    assert.equal(await errorCode(ec2.send(new CreateKeyPairCommand({ KeyName: other, DryRun: true }))), 'DryRunOperation');
    assert.equal(await errorCode(ec2.send(new DescribeKeyPairsCommand({ KeyNames: [other] }))), 'InvalidKeyPair.NotFound');
    await ec2.send(new CreateKeyPairCommand({ KeyName: 'x'.repeat(255) }));
    await ec2.send(new DeleteKeyPairCommand({ KeyName: 'x'.repeat(255) }));
  });
});

/** A PuTTY-written (puttygen) format 2 file, to prove this test's own MAC check against real output. */
const PUTTYGEN_V2 =
  'PuTTY-User-Key-File-2: ssh-ed25519\r\nEncryption: none\r\nComment: ed25519-key-20240418\r\nPublic-Lines: 2\r\n' +
  'AAAAC3NzaC1lZDI1NTE5AAAAILMyy5tkHvvUqRtQYHzOzkyR4PYwj1P284HBQXHv\r\nrKeh\r\nPrivate-Lines: 1\r\n' +
  'AAAAIBwepG2OCCnYICCmTXNuDk6Hl/xdjPbNGY3CQlTLGBo4\r\nPrivate-MAC: 53075221be556e89770351391573dbb7dba661d2\r\n';

/** Reads a .ppk (format 2, unencrypted) and checks its MAC; returns the decoded blobs. */
function readPpk(text: string) {
  const lines = text.split(/\r?\n/);
  const header = (i: number, name: string) => {
    assert.ok(lines[i].startsWith(`${name}: `), `${name} on line ${i + 1}`);
    return lines[i].slice(name.length + 2);
  };
  const algorithm = header(0, 'PuTTY-User-Key-File-2');
  const encryption = header(1, 'Encryption');
  const comment = header(2, 'Comment');
  const nPub = Number(header(3, 'Public-Lines'));
  const pub = Buffer.from(lines.slice(4, 4 + nPub).join(''), 'base64');
  const nPriv = Number(header(4 + nPub, 'Private-Lines'));
  const priv = Buffer.from(lines.slice(5 + nPub, 5 + nPub + nPriv).join(''), 'base64');
  const mac = header(5 + nPub + nPriv, 'Private-MAC');
  const str = (b: Buffer | string) => {
    const buf = Buffer.from(b);
    const len = Buffer.alloc(4);
    len.writeUInt32BE(buf.length);
    return Buffer.concat([len, buf]);
  };
  const key = createHash('sha1').update('putty-private-key-file-mac-key').digest();
  const expected = createHmac('sha1', key).update(Buffer.concat([algorithm, encryption, comment, pub, priv].map(str))).digest('hex');
  assert.equal(mac, expected, 'Private-MAC');
  assert.equal(encryption, 'none');
  return { algorithm, comment, pub, priv };
}

/** The SSH wire fields (RFC 4251 strings/mpints) of a blob. */
function sshFields(b: Buffer): Buffer[] {
  const out: Buffer[] = [];
  for (let at = 0; at < b.length; ) {
    const len = b.readUInt32BE(at);
    out.push(b.subarray(at + 4, at + 4 + len));
    at += 4 + len;
  }
  return out;
}

describe('CreateKeyPair KeyFormat ppk', () => {
  test('rsa and ed25519 as PuTTY format 2 files', async () => {
    readPpk(PUTTYGEN_V2);
    const big = (b: Buffer) => BigInt(`0x${b.toString('hex') || '0'}`);
    const b64u = (n: bigint) => {
      const hex = n.toString(16);
      return Buffer.from(hex.length % 2 ? `0${hex}` : hex, 'hex').toString('base64url');
    };

    const rsaName = uniqueName('ppk-rsa');
    const rsa = await ec2.send(new CreateKeyPairCommand({ KeyName: rsaName, KeyFormat: 'ppk' }));
    const r = readPpk(rsa.KeyMaterial!);
    assert.equal(r.algorithm, 'ssh-rsa');
    assert.equal(r.comment, rsaName);
    assert.equal(r.pub.toString('base64'), (await describeOne(rsaName)).PublicKey!.split(' ')[1]);
    const [, e, n] = sshFields(r.pub).map(big);
    const [d, p, q, iqmp] = sshFields(r.priv).map(big);
    assert.equal(p * q, n);
    assert.ok(p > q, 'p is the larger prime');
    assert.equal((iqmp * q) % p, 1n);
    // Rebuilt from the file, the key has the fingerprint EC2 printed for it (SHA-1 of PKCS#8).
    const rebuilt = createPrivateKey({
      format: 'jwk',
      key: { kty: 'RSA', n: b64u(n), e: b64u(e), d: b64u(d), p: b64u(p), q: b64u(q), dp: b64u(d % (p - 1n)), dq: b64u(d % (q - 1n)), qi: b64u(iqmp) },
    });
    const sha1 = createHash('sha1').update(rebuilt.export({ format: 'der', type: 'pkcs8' })).digest();
    assert.equal(rsa.KeyFingerprint, colonHex(sha1));

    const edName = uniqueName('ppk-ed');
    const ed = await ec2.send(new CreateKeyPairCommand({ KeyName: edName, KeyType: 'ed25519', KeyFormat: 'ppk' }));
    const k = readPpk(ed.KeyMaterial!);
    assert.equal(k.algorithm, 'ssh-ed25519');
    const [seed] = sshFields(k.priv);
    const pkcs8 = Buffer.concat([Buffer.from('302e020100300506032b657004220420', 'hex'), seed]);
    const derived = createPublicKey(createPrivateKey({ key: pkcs8, format: 'der', type: 'pkcs8' })).export({ format: 'jwk' }).x!;
    assert.deepEqual(Buffer.from(derived, 'base64url'), sshFields(k.pub)[1]);
    assert.equal(ed.KeyFingerprint, createHash('sha256').update(k.pub).digest('base64'));
  });
});

describe('ImportKeyPair', () => {
  test('ssh-rsa: MD5 of the DER public key as fingerprint', { skip: missing('ssh-keygen') }, async () => {
    const { publicKey, privateKey } = generateKeyPairSync('rsa', { modulusLength: 2048 });
    const name = uniqueName('imp-rsa');
    const file = join(dir, name);
    writeFileSync(file, privateKey.export({ format: 'pem', type: 'pkcs1' }), { mode: 0o600 });
    const line = execFileSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' }).trim();
    const imported = await ec2.send(new ImportKeyPairCommand({ KeyName: name, PublicKeyMaterial: Buffer.from(`${line} me@host\n`) }));
    assert.match(imported.KeyPairId!, /^key-[0-9a-f]{17}$/);
    const md5 = createHash('md5').update(publicKey.export({ format: 'der', type: 'spki' })).digest();
    assert.equal(imported.KeyFingerprint, colonHex(md5));
    const info = await describeOne(name);
    assert.equal(info.KeyType, 'rsa');
    assert.equal(twoFields(info.PublicKey!), line);

    // The same key as an RFC 4716 block (what `ssh-keygen -e` writes).
    const rfc = execFileSync('ssh-keygen', ['-e', '-f', file], { encoding: 'utf8' });
    const again = await ec2.send(new ImportKeyPairCommand({ KeyName: `${name}-rfc`, PublicKeyMaterial: Buffer.from(rfc) }));
    assert.equal(again.KeyFingerprint, imported.KeyFingerprint);
  });

  test('ssh-ed25519, tags, and refused material', async () => {
    const { publicKey } = generateKeyPairSync('ed25519');
    const x = Buffer.from(publicKey.export({ format: 'jwk' }).x!, 'base64url');
    const str = (b: Buffer) => Buffer.concat([Buffer.from([0, 0, 0, b.length]), b]);
    const blob = Buffer.concat([str(Buffer.from('ssh-ed25519')), str(x)]);
    const name = uniqueName('imp-ed');
    const imported = await ec2.send(
      new ImportKeyPairCommand({
        KeyName: name,
        PublicKeyMaterial: Buffer.from(`ssh-ed25519 ${blob.toString('base64')}`),
        TagSpecifications: [{ ResourceType: 'key-pair', Tags: [{ Key: 'Name', Value: 'laptop' }] }],
      }),
    );
    assert.equal(imported.KeyFingerprint, createHash('sha256').update(blob).digest('base64'));
    assert.deepEqual(imported.Tags, [{ Key: 'Name', Value: 'laptop' }]);

    const bad = (material: string, keyName = uniqueName('refused')) =>
      errorCode(ec2.send(new ImportKeyPairCommand({ KeyName: keyName, PublicKeyMaterial: Buffer.from(material) })));
    assert.equal(await bad('not a key'), 'InvalidKey.Format');
    assert.equal(await bad(`ssh-rsa ${blob.toString('base64')}`), 'InvalidKey.Format', 'declared type must match the blob');
    assert.equal(await bad(`ssh-ed25519 ${blob.subarray(0, 40).toString('base64')}`), 'InvalidKey.Format');
    assert.equal(await bad(`ssh-ed25519 ${blob.toString('base64')}`, name), 'InvalidKeyPair.Duplicate');
    // Base64 DER (SubjectPublicKeyInfo), the third format EC2 documents, for both key types.
    const der = publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    const fromDer = await ec2.send(new ImportKeyPairCommand({ KeyName: `${name}-der`, PublicKeyMaterial: Buffer.from(der) }));
    assert.equal(fromDer.KeyFingerprint, imported.KeyFingerprint);
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey;
    const rsaDer = Buffer.from(rsa.export({ format: 'der', type: 'spki' }).toString('base64'));
    const rsaImported = await ec2.send(new ImportKeyPairCommand({ KeyName: `${name}-rsa-der`, PublicKeyMaterial: rsaDer }));
    assert.equal(rsaImported.KeyFingerprint, colonHex(createHash('md5').update(rsa.export({ format: 'der', type: 'spki' })).digest()));
    assert.equal((await describeOne(`${name}-rsa-der`)).KeyType, 'rsa');
    const odd = generateKeyPairSync('rsa', { modulusLength: 1536 }).publicKey.export({ format: 'der', type: 'spki' }).toString('base64');
    assert.equal(await bad(odd), 'InvalidKey.Format', 'EC2 takes 1024, 2048 and 4096-bit RSA keys only');

    const { KeyPairs } = await ec2.send(new DescribeKeyPairsCommand({ Filters: [{ Name: 'key-name', Values: ['refused-*'] }] }));
    assert.deepEqual(KeyPairs, []);
  });
});

describe('DescribeKeyPairs and DeleteKeyPair', () => {
  test('filters, ids, tags, delete by name and id, idempotent delete', async () => {
    const prefix = uniqueName('set');
    const a = await ec2.send(new CreateKeyPairCommand({ KeyName: `${prefix}-a` }));
    const b = await ec2.send(new CreateKeyPairCommand({ KeyName: `${prefix}-b`, KeyType: 'ed25519' }));
    await ec2.send(new CreateTagsCommand({ Resources: [b.KeyPairId!], Tags: [{ Key: 'env', Value: 'prod' }] }));
    const names = async (filters: { Name: string; Values: string[] }[]) =>
      (await ec2.send(new DescribeKeyPairsCommand({ Filters: filters }))).KeyPairs!.map((k) => k.KeyName).sort();

    assert.deepEqual(await names([{ Name: 'key-name', Values: [`${prefix}-*`] }]), [`${prefix}-a`, `${prefix}-b`]);
    assert.deepEqual(await names([{ Name: 'key-pair-id', Values: [a.KeyPairId!] }]), [`${prefix}-a`]);
    assert.deepEqual(await names([{ Name: 'fingerprint', Values: [b.KeyFingerprint!] }]), [`${prefix}-b`]);
    assert.deepEqual(await names([{ Name: 'key-name', Values: [`${prefix}-*`] }, { Name: 'key-type', Values: ['rsa'] }]), [`${prefix}-a`]);
    assert.deepEqual(await names([{ Name: 'tag:env', Values: ['prod'] }]), [`${prefix}-b`]);
    assert.equal(await errorCode(ec2.send(new DescribeKeyPairsCommand({ Filters: [{ Name: 'nope', Values: ['x'] }] }))), 'InvalidParameterValue');

    const byId = await ec2.send(new DescribeKeyPairsCommand({ KeyPairIds: [b.KeyPairId!] }));
    assert.deepEqual(byId.KeyPairs!.map((k) => k.KeyName), [`${prefix}-b`]);
    assert.equal(await errorCode(ec2.send(new DescribeKeyPairsCommand({ KeyPairIds: ['key-0123456789abcdef0'] }))), 'InvalidKeyPair.NotFound');
    const tags = await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [b.KeyPairId!] }] }));
    assert.deepEqual(tags.Tags!.map((t) => [t.ResourceType, t.Key, t.Value]), [['key-pair', 'env', 'prod']]);

    const del = await ec2.send(new DeleteKeyPairCommand({ KeyName: `${prefix}-a` }));
    assert.equal(del.Return, true);
    assert.equal(del.KeyPairId, a.KeyPairId);
    await ec2.send(new DeleteKeyPairCommand({ KeyPairId: b.KeyPairId }));
    assert.deepEqual(await names([{ Name: 'key-name', Values: [`${prefix}-*`] }]), []);
    const tagsAfter = await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [b.KeyPairId!] }] }));
    assert.deepEqual(tagsAfter.Tags, []);
    // Deleting what is not there succeeds, as in AWS.
    assert.equal((await ec2.send(new DeleteKeyPairCommand({ KeyName: `${prefix}-a` }))).Return, true);
    assert.equal(await errorCode(ec2.send(new DeleteKeyPairCommand({}))), 'MissingParameter');
  });

  test('aws CLI: create, describe with public key, delete', { skip: missing('aws', 'ssh-keygen') }, async () => {
    const name = uniqueName('cli');
    const created = await awsJson<{ KeyMaterial: string; KeyFingerprint: string; KeyPairId: string }>(kumo.url, [
      'ec2', 'create-key-pair', '--key-name', name, '--key-type', 'ed25519',
    ]);
    assert.match(created.KeyMaterial, /^-----BEGIN OPENSSH PRIVATE KEY-----/);
    const found = await awsJson<{ KeyPairs: { KeyPairId: string; PublicKey: string }[] }>(kumo.url, [
      'ec2', 'describe-key-pairs', '--key-names', name, '--include-public-key',
    ]);
    assert.equal(found.KeyPairs[0].KeyPairId, created.KeyPairId);
    assert.equal(twoFields(derivePublic(created.KeyMaterial, `${name}-cli`)), twoFields(found.KeyPairs[0].PublicKey));
    await awsJson(kumo.url, ['ec2', 'delete-key-pair', '--key-pair-id', created.KeyPairId]);
    assert.equal(await errorCode(ec2.send(new DescribeKeyPairsCommand({ KeyNames: [name] }))), 'InvalidKeyPair.NotFound');
  });

  test('aws CLI: import-key-pair of a 4096-bit key made by ssh-keygen', { skip: missing('aws', 'ssh-keygen') }, async () => {
    const name = uniqueName('cli-imp');
    const file = join(dir, name);
    execFileSync('ssh-keygen', ['-q', '-t', 'rsa', '-b', '4096', '-N', '', '-C', 'me@host', '-f', file]);
    const imported = await awsJson<{ KeyFingerprint: string; KeyPairId: string }>(kumo.url, [
      'ec2', 'import-key-pair', '--key-name', name, '--public-key-material', `fileb://${file}.pub`,
    ]);
    const spki = createPublicKey(execFileSync('ssh-keygen', ['-e', '-m', 'PEM', '-f', `${file}.pub`])).export({
      format: 'der',
      type: 'spki',
    });
    assert.equal(imported.KeyFingerprint, colonHex(createHash('md5').update(spki).digest()));
    const info = await describeOne(name);
    assert.equal(twoFields(info.PublicKey!), twoFields(execFileSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' }).trim()));
  });
});
