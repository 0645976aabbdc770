/**
 * User data through RunInstances, as users write it, checked inside the instances and from the
 * host: a `#cloud-config` document (write_files, users with their keys, packages, runcmd), a
 * gzip-compressed MIME multipart archive mixing cloud-config and a shell script (on the Amazon
 * Linux 2023 AMI), and an Amazon Linux script that installs httpd and php with yum (kumo's shim)
 * and serves a PHP page on the instance's public IP. Then the end of an instance's listing:
 * terminated instances stay listed for an hour and are gone after it (EC2's supervisor runs on a
 * clock this file moves: KumoConfig.clock).
 *
 * Three instances, launched together. Needs root (skips otherwise; fails under KUMO_REQUIRE_NATIVE=1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { gzipSync } from 'node:zlib';
import {
  AuthorizeSecurityGroupIngressCommand, CreateSecurityGroupCommand, CreateTagsCommand, DescribeImagesCommand, DescribeInstancesCommand,
  DescribeTagsCommand, RunInstancesCommand, TerminateInstancesCommand, type EC2Client, type Instance, type RunInstancesCommandInput,
} from '@aws-sdk/client-ec2';
import { errorCode, waitFor } from '../helpers/kumo.js';
import { consoleText, debianImageId, ec2Fixture, waitForState, type Ec2Fixture } from '../helpers/ec2.js';
import { inside } from './instance-access.js';
import { leftovers, nativeSkipReason } from './support.js';

const exec = promisify(execFile);
const skip = nativeSkipReason();
let f: Ec2Fixture;
let ec2: EC2Client;
/** How far EC2's supervisor clock is ahead of the system's. */
let ahead = 0;

const DEPLOY_KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIKumoKumoKumoKumoKumoKumoKumoKumoKumoKumoKumo deploy@kumo-test';

const CLOUD_CONFIG = `#cloud-config
write_files:
  - path: /etc/app/settings.ini
    content: |
      [app]
      mode = cloud-config
    permissions: '0640'
users:
  - default
  - name: deploy
    shell: /bin/bash
    sudo: ALL=(ALL) NOPASSWD:ALL
    ssh_authorized_keys:
      - ${DEPLOY_KEY}
packages:
  - git
runcmd:
  - echo "runcmd-saw-$(grep mode /etc/app/settings.ini | cut -d' ' -f3)"
  - [sh, -c, 'git --version >/dev/null && echo git-installed']
`;

/** A gzip'd MIME archive: cloud-config writes a file, the shell script part (after it) reads it. */
function mimeUserData(): Buffer {
  const mime = [
    'Content-Type: multipart/mixed; boundary="==KUMO=="',
    'MIME-Version: 1.0',
    '',
    '--==KUMO==',
    'Content-Type: text/cloud-config; charset="us-ascii"',
    'Content-Transfer-Encoding: base64',
    '',
    Buffer.from('#cloud-config\nwrite_files:\n  - path: /opt/from-mime/part1\n    content: first-part\n').toString('base64'),
    '--==KUMO==',
    'Content-Type: text/x-shellscript; charset="us-ascii"',
    '',
    '#!/bin/bash',
    'echo "mime-script-read-$(cat /opt/from-mime/part1)"',
    '--==KUMO==--',
    '',
  ].join('\n'); // as cloud-init's make-mime and Terraform's cloudinit_config write it
  return gzipSync(mime);
}

const YUM_USER_DATA = `#!/bin/bash
yum update -y
yum install -y httpd php
echo '<?php echo "php-says-" . (6 * 7);' > /var/www/html/index.php
systemctl enable --now httpd
echo yum-user-data-done
`;

const at: Record<'cc' | 'mime' | 'web', Instance> = {} as never;

// One hook does it all: node 20 runs a file's before hooks concurrently.
before(async () => {
  if (skip) return;
  f = await ec2Fixture({ clock: () => new Date(Date.now() + ahead) });
  ec2 = f.ec2;
  const debian = await debianImageId(ec2);
  const al2023 = (await ec2.send(new DescribeImagesCommand({ Owners: ['amazon'], Filters: [{ Name: 'name', Values: ['al2023-ami-2023.*-x86_64'] }] })))
    .Images!.sort((a, b) => a.CreationDate!.localeCompare(b.CreationDate!)).at(-1)!.ImageId!;
  const web = (await ec2.send(new CreateSecurityGroupCommand({ GroupName: 'web', Description: 'web' }))).GroupId!;
  await ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: web, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, IpRanges: [{ CidrIp: '0.0.0.0/0' }] }] }));
  const launch = async (ImageId: string, userData: Buffer | string, extra: Partial<RunInstancesCommandInput> = {}) =>
    (await ec2.send(new RunInstancesCommand({
      ImageId, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', UserData: Buffer.from(userData).toString('base64'), ...extra,
    }))).Instances![0]!.InstanceId!;
  const ids = {
    cc: await launch(debian, CLOUD_CONFIG, { TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'cloud-config' }] }] }),
    mime: await launch(al2023, mimeUserData()),
    web: await launch(al2023, YUM_USER_DATA, { SecurityGroupIds: [web] }),
  };
  for (const [role, id] of Object.entries(ids)) at[role as keyof typeof at] = await waitForState(ec2, id, 'running');
});

after(async () => {
  if (skip) return;
  await f.stop();
});

/** The console once user data has finished (kumo's runner says so), and how it ended. */
async function userDataDone(id: string): Promise<string> {
  return (await waitFor(`${id}'s user data to finish`, async () => {
    const c = await consoleText(ec2, id);
    return /user data exited with status \d+/.test(c) ? c : undefined;
  }, 180_000))!;
}

test('#cloud-config: files, a user with its key and sudo, packages, then runcmd', { skip, timeout: 4 * 60_000 }, async () => {
  const id = at.cc.InstanceId!;
  const out = await userDataDone(id);
  assert.match(out, /user data exited with status 0/);
  assert.match(out, /runcmd-saw-cloud-config/, 'runcmd ran after write_files');
  assert.match(out, /git-installed/, 'packages were installed before runcmd');
  assert.equal(await inside(id, 'cat /etc/app/settings.ini'), '[app]\nmode = cloud-config\n');
  assert.equal((await inside(id, 'stat -c %a /etc/app/settings.ini')).trim(), '640');
  assert.equal((await inside(id, 'cat /home/deploy/.ssh/authorized_keys')).trim(), DEPLOY_KEY);
  assert.equal((await inside(id, 'getent passwd deploy | cut -d: -f7')).trim(), '/bin/bash');
  assert.equal((await inside(id, 'su deploy -c "sudo -n id -u"')).trim(), '0', 'deploy has passwordless sudo');
  assert.match(await inside(id, 'cloud-init status --wait'), /status: done/);
});

test('a gzip\'d MIME archive on the Amazon Linux AMI: the cloud-config part, then the script part', { skip, timeout: 4 * 60_000 }, async () => {
  const id = at.mime.InstanceId!;
  const out = await userDataDone(id);
  assert.match(out, /mime-script-read-first-part/);
  assert.equal(await inside(id, 'cat /opt/from-mime/part1'), 'first-part');
  assert.match(await inside(id, 'id -un 1000'), /^ec2-user$/m, 'the AMI\'s login user');
});

test('yum install httpd php on Amazon Linux user data: the PHP page on the public IP', { skip, timeout: 6 * 60_000 }, async () => {
  const id = at.web.InstanceId!;
  const out = await userDataDone(id);
  assert.match(out, /yum-user-data-done/);
  assert.match(out, /user data exited with status 0/);
  assert.equal((await inside(id, 'systemctl is-enabled httpd')).trim(), 'enabled');
  const page = await waitFor('the PHP page from the host', async () => {
    try {
      return (await exec('curl', ['-sf', '--max-time', '3', `http://${at.web.PublicIpAddress}/index.php`])).stdout;
    } catch {
      return undefined;
    }
  }, 30_000);
  assert.equal(page, 'php-says-42');
});

test('a terminated instance is listed for an hour, then gone', { skip, timeout: 3 * 60_000 }, async () => {
  const ids = Object.values(at).map((i) => i.InstanceId!);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids }));
  for (const id of ids) await waitForState(ec2, id, 'terminated', 60_000);
  for (const id of ids) assert.deepEqual(leftovers(id), [], id);
  const id = at.cc.InstanceId!;
  const listed = async () => (await ec2.send(new DescribeInstancesCommand({}))).Reservations!.flatMap((r) => r.Instances!.map((i) => i.InstanceId));
  const tagged = async () => (await ec2.send(new DescribeTagsCommand({ Filters: [{ Name: 'resource-id', Values: [id] }] }))).Tags!.length;
  /** Moves the supervisor's clock, and has it look: any change wakes it, and an idle supervisor looks before the change is answered. */
  const advance = async (minutes: number) => {
    ahead = minutes * 60_000;
    await ec2.send(new CreateTagsCommand({ Resources: [at.web.InstanceId!], Tags: [{ Key: 'clock', Value: String(minutes) }] }));
  };
  assert.ok((await listed()).includes(id));
  assert.equal(await tagged(), 1);

  await advance(59);
  assert.deepEqual((await listed()).sort(), [...ids].sort(), 'after 59 minutes all three are still listed');
  assert.equal(await tagged(), 1);
  assert.equal((await waitForState(ec2, id, 'terminated')).State?.Code, 48);

  await advance(61);
  await waitFor('the terminated instances to be removed', async () => (await listed()).length === 0, 10_000);
  assert.equal(await tagged(), 0, 'with their tags');
  assert.equal(await errorCode(ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))), 'InvalidInstanceID.NotFound');
});
