// The kumo command as a user runs it: `node bin/kumo.js start|status|stop|reset`, its messages and
// exit codes. Every kumo started here runs on a free port with its own temporary data dir.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { CreateVpcCommand, DescribeVpcsCommand, EC2Client } from '@aws-sdk/client-ec2';
import { CreateBucketCommand, ListBucketsCommand, PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { clientConfig, ROOT } from '../helpers/kumo.js';
import { useKumoProcesses } from '../helpers/kumo-process.js';

const kumos = useKumoProcesses();
const dir = () => kumos.dataDir('kumo-cli-');
const start = (dataDir: string) => kumos.start(dataDir);

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

/** `kumo <args>` to completion, with none of the caller's KUMO_* settings (only `extraEnv`). */
function kumo(args: string[], extraEnv: Record<string, string> = {}): Promise<Run> {
  const env = { ...Object.fromEntries(Object.entries(process.env).filter(([k]) => !k.startsWith('KUMO_'))), ...extraEnv };
  return new Promise((resolve) => {
    execFile(process.execPath, [join(ROOT, 'bin', 'kumo.js'), ...args], { env, timeout: 60_000 }, (err, stdout, stderr) => {
      const code = err ? (typeof err.code === 'number' ? err.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
  });
}

/** VPCs the test made (the region's default VPC, there from the first call, is left out). */
async function vpcCount(url: string): Promise<number> {
  const ec2 = new EC2Client(clientConfig(url));
  try {
    return (await ec2.send(new DescribeVpcsCommand({ Filters: [{ Name: 'is-default', Values: ['false'] }] }))).Vpcs!.length;
  } finally {
    ec2.destroy();
  }
}

async function createVpc(url: string): Promise<void> {
  const ec2 = new EC2Client(clientConfig(url));
  try {
    await ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }));
  } finally {
    ec2.destroy();
  }
}

function listenOn(port: number): Promise<Server> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(port, '127.0.0.1', () => resolve(s));
  });
}

describe('kumo start, status, stop', () => {
  test('start prints the endpoint and the credentials; status and stop find it by data dir', async () => {
    const dataDir = dir();
    const k = await start(dataDir);
    const out = k.output();
    assert.match(out, new RegExp(`ready on http://127\\.0\\.0\\.1:${k.port}\\n`));
    assert.match(out, /AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \(account 000000000000\)/);
    assert.ok(out.includes(`data dir:    ${dataDir}`), out);
    assert.ok(out.includes(`AWS_ENDPOINT_URL=${k.url} aws sts get-caller-identity`), out);

    const st = await kumo(['status', '--data-dir', dataDir]);
    assert.equal(st.code, 0, st.stderr);
    assert.match(st.stdout, new RegExp(`kumo is running: pid ${k.child.pid}, http://127\\.0\\.0\\.1:${k.port}`));
    assert.match(st.stdout, /services: ec2, elbv2, elb, acm, rds, s3, sts/);

    const stop = await kumo(['stop', '--data-dir', dataDir]);
    assert.equal(stop.code, 0, stop.stderr);
    assert.match(stop.stdout, new RegExp(`kumo \\(pid ${k.child.pid}\\) stopped`));
    assert.equal(await k.exited, 0, 'it stopped cleanly');
    assert.ok(!existsSync(join(dataDir, 'kumo.pid')));
    (await listenOn(k.port)).close(); // the port is free again

    const after = await kumo(['status', '--data-dir', dataDir]);
    assert.equal(after.code, 3);
    assert.match(after.stdout, /kumo is not running/);
    const again = await kumo(['stop', '--data-dir', dataDir]);
    assert.equal(again.code, 0);
    assert.match(again.stdout, /kumo is not running/);
  });

  test('a pid file whose pid now belongs to another process is stale: status, stop and start see through it', async () => {
    const dataDir = dir();
    // This test process is alive, but it is not the process that wrote this file.
    const stale = { pid: process.pid, procStart: '1', host: '127.0.0.1', port: 1, startedAt: new Date(0).toISOString(), version: '0' };
    const other = { ...stale, pid: process.ppid };
    for (const p of [stale, other]) {
      writeFileSync(join(dataDir, 'kumo.pid'), JSON.stringify(p));
      const st = await kumo(['status', '--data-dir', dataDir]);
      assert.equal(st.code, 3, st.stdout);
      const stop = await kumo(['stop', '--data-dir', dataDir]);
      assert.match(stop.stdout, /not running/, 'and nothing was signalled: this test is still here to check');
    }
    const k = await start(dataDir);
    assert.equal(JSON.parse(readFileSync(join(dataDir, 'kumo.pid'), 'utf8')).pid, k.child.pid);
    await k.kill('SIGTERM');
  });

  test('a busy port is refused with a clear message, and leaves no lock behind', async () => {
    const blocker = await listenOn(0);
    const port = (blocker.address() as { port: number }).port;
    try {
      const dataDir = dir();
      const r = await kumo(['start', '--port', String(port), '--data-dir', dataDir]);
      assert.equal(r.code, 1);
      assert.match(r.stderr, new RegExp(`^kumo: port ${port} on 127\\.0\\.0\\.1 is already in use`));
      assert.ok(!existsSync(join(dataDir, 'kumo.pid')));
    } finally {
      blocker.close();
    }
  });

  test('an unusable data dir is refused with a clear message', async () => {
    const file = join(dir(), 'plain-file');
    writeFileSync(file, 'not a directory');
    const under = await kumo(['start', '--port', '0', '--data-dir', join(file, 'sub')]);
    assert.equal(under.code, 1);
    assert.match(under.stderr, /^kumo: cannot use data directory .*plain-file\/sub: a part of the path is a file, not a directory/);
    const itself = await kumo(['start', '--port', '0', '--data-dir', file]);
    assert.equal(itself.code, 1);
    assert.match(itself.stderr, /^kumo: cannot use data directory .*plain-file: it exists and is not a directory/);
  });
});

describe('kumo reset', () => {
  test('running: wipes state through /_kumo/reset and keeps serving', async () => {
    const dataDir = dir();
    const k = await start(dataDir);
    await createVpc(k.url);
    assert.equal(await vpcCount(k.url), 1);
    const s3 = new S3Client(clientConfig(k.url, { forcePathStyle: true }));
    try {
      await s3.send(new CreateBucketCommand({ Bucket: 'reset-me', CreateBucketConfiguration: { LocationConstraint: 'ap-northeast-1' } }));
      await s3.send(new PutObjectCommand({ Bucket: 'reset-me', Key: 'k', Body: 'bytes' }));
      const r = await kumo(['reset', '--data-dir', dataDir]);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, /kumo state reset/);
      assert.equal(await vpcCount(k.url), 0);
      assert.deepEqual((await s3.send(new ListBucketsCommand({}))).Buckets ?? [], []);
    } finally {
      s3.destroy();
    }
    await createVpc(k.url);
    assert.equal(await vpcCount(k.url), 1);
    await k.kill('SIGTERM');
  });

  test('stopped: removes the state files, and the next start is empty', async () => {
    const dataDir = dir();
    const empty = await kumo(['reset', '--data-dir', dataDir]);
    assert.equal(empty.code, 0);
    assert.match(empty.stdout, /nothing to reset/);

    const k = await start(dataDir);
    await createVpc(k.url);
    await k.kill('SIGTERM');
    assert.ok(existsSync(join(dataDir, 'state.db')));
    const r = await kumo(['reset', '--data-dir', dataDir]);
    assert.equal(r.code, 0, r.stderr);
    assert.match(r.stdout, /wiped/);
    assert.ok(!existsSync(join(dataDir, 'state.db')));
    assert.ok(!existsSync(join(dataDir, 'kumo.pid')), 'reset releases its lock');

    const fresh = await start(dataDir);
    assert.equal(await vpcCount(fresh.url), 0);
    await fresh.kill('SIGTERM');
  });
});

describe('usage', () => {
  test('--help, help and no command print usage; --version prints the version', async () => {
    for (const args of [['--help'], ['help'], [], ['start', '--help']]) {
      const r = await kumo(args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /^kumo .*: AWS on one machine/);
      assert.match(r.stdout, /kumo start/);
      assert.match(r.stdout, /kumo status/);
    }
    const v = await kumo(['--version']);
    assert.equal(v.code, 0);
    assert.match(v.stdout, /^[0-9]+\.[0-9]+\.[0-9]+/);
  });

  test('an unknown command, flag or bad port value is an error with usage', async () => {
    const cmd = await kumo(['frobnicate']);
    assert.equal(cmd.code, 1);
    assert.match(cmd.stderr, /^kumo: unknown command 'frobnicate'/);
    assert.match(cmd.stderr, /usage:/);
    const flag = await kumo(['start', '--colour']);
    assert.equal(flag.code, 1);
    assert.match(flag.stderr, /--colour/);
    for (const port of ['abc', '70000', '', '-1']) {
      const r = await kumo(['start', `--port=${port}`, '--data-dir', dir()]);
      assert.equal(r.code, 1, `--port=${port}`);
      assert.match(r.stderr, /--port must be a number from 0 to 65535/);
    }
  });

  test('a bad KUMO_IDLE_TIMEOUT or KUMO_MAX_CONNECTIONS is an error', async () => {
    for (const value of ['abc', '0', '-5', '0.5']) {
      const r = await kumo(['start', '--port=0', '--data-dir', dir()], { KUMO_IDLE_TIMEOUT: value });
      assert.equal(r.code, 1, `KUMO_IDLE_TIMEOUT=${value}`);
      assert.match(r.stderr, /KUMO_IDLE_TIMEOUT must be a number of seconds, 1 or more/);
    }
    for (const value of ['abc', '0', '2.5']) {
      const r = await kumo(['start', '--port=0', '--data-dir', dir()], { KUMO_MAX_CONNECTIONS: value });
      assert.equal(r.code, 1, `KUMO_MAX_CONNECTIONS=${value}`);
      assert.match(r.stderr, /KUMO_MAX_CONNECTIONS must be a whole number, 1 or more/);
    }
  });
});
