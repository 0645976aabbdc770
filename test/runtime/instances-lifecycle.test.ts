/**
 * An EC2 instance's life through the API, on the native driver: launch with a key, tags and user
 * data; the state machine and its reasons; filters; status checks; the console; stop/start
 * keeping the private IP and files while the auto-assigned public IP changes; type changes only
 * while stopped; reboot re-running enabled services but not user data; termination protection;
 * terminate freeing the interface. Needs root (skips otherwise; fails under KUMO_REQUIRE_NATIVE=1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import {
  CreateKeyPairCommand, DescribeInstanceAttributeCommand, DescribeInstancesCommand, DescribeInstanceStatusCommand,
  DescribeNetworkInterfacesCommand, DescribeSubnetsCommand, ModifyInstanceAttributeCommand, RebootInstancesCommand,
  RunInstancesCommand, StartInstancesCommand, StopInstancesCommand, TerminateInstancesCommand, type EC2Client,
} from '@aws-sdk/client-ec2';
import { errorCode, waitFor } from '../helpers/kumo.js';
import { consoleText, debianImageId, describeInstance, ec2Fixture, HELLO_SERVICE, occurrences, waitForState, type Ec2Fixture } from '../helpers/ec2.js';
import { leftovers, nativeSkipReason, readFromRootVolume } from './support.js';

const skip = nativeSkipReason();
let f: Ec2Fixture;
let ec2: EC2Client;

const USER_DATA = `#!/bin/bash
echo "host=$(hostname) $(grep nameserver /etc/resolv.conf)"
mkdir -p /srv && echo kept > /srv/file
cat > /etc/systemd/system/show-file.service <<'UNIT'
[Service]
Type=oneshot
ExecStart=/bin/sh -c 'echo "file-says-$(cat /srv/file)"'
StandardOutput=journal+console
[Install]
WantedBy=multi-user.target
UNIT
systemctl enable show-file.service
${HELLO_SERVICE}
echo user-data-ran
`;

const consoleOf = (id: string) => consoleText(ec2, id);
const count = occurrences;

before(async () => {
  if (skip) return;
  f = await ec2Fixture();
  ec2 = f.ec2;
});

after(async () => {
  if (skip) return;
  await f.stop();
});

test('an instance lives, stops, starts, reboots and terminates as on EC2', { skip, timeout: 10 * 60_000 }, async (t) => {
  const ami = await debianImageId(ec2);
  await ec2.send(new CreateKeyPairCommand({ KeyName: 'cms-key' }));
  const launched = Date.now();
  const r = await ec2.send(new RunInstancesCommand({
    ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't2.micro', KeyName: 'cms-key',
    UserData: Buffer.from(USER_DATA).toString('base64'), DisableApiTermination: true,
    TagSpecifications: [{ ResourceType: 'instance', Tags: [{ Key: 'Name', Value: 'cms01' }] }],
  }));
  const first = r.Instances![0]!;
  const id = first.InstanceId!;
  assert.match(id, /^i-[0-9a-f]{17}$/);
  assert.match(r.ReservationId!, /^r-[0-9a-f]{17}$/);
  assert.equal(first.State?.Name, 'pending');
  assert.equal(first.State?.Code, 0);
  const running = await waitForState(ec2, id, 'running');
  t.diagnostic(`RunInstances to running: ${Date.now() - launched} ms`);
  assert.equal(running.State?.Code, 16);
  assert.equal(running.PrivateIpAddress, first.PrivateIpAddress);
  assert.ok(running.PublicIpAddress?.startsWith('127.'), 'a default subnet maps a (loopback) public IP');
  assert.equal(running.KeyName, 'cms-key');
  const privateIp = running.PrivateIpAddress!;

  for (const [name, value] of [
    ['tag:Name', 'cms01'], ['instance-state-name', 'running'], ['subnet-id', running.SubnetId!], ['vpc-id', running.VpcId!],
    ['image-id', ami], ['instance-type', 't2.micro'], ['private-ip-address', privateIp], ['availability-zone', running.Placement!.AvailabilityZone!],
  ]) {
    const out = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: name, Values: [value!] }] }));
    assert.deepEqual(out.Reservations?.flatMap((x) => x.Instances!.map((i) => i.InstanceId)), [id], `filter ${name}`);
  }
  const none = await ec2.send(new DescribeInstancesCommand({ Filters: [{ Name: 'instance-state-name', Values: ['stopped'] }] }));
  assert.deepEqual(none.Reservations, []);

  const text = await waitFor('user data output on the console', async () => {
    const c = await consoleOf(id);
    return c.includes('user-data-ran') ? c : undefined;
  }, 60_000);
  assert.match(text!, new RegExp(`host=ip-${privateIp.replaceAll('.', '-')} nameserver 172\\.31\\.0\\.2`), 'hostname ip-a-b-c-d, resolver at VPC base+2');
  const status = await waitFor('status checks ok', async () => {
    const s = (await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [id] }))).InstanceStatuses![0];
    return s?.InstanceStatus?.Status === 'ok' && s.SystemStatus?.Status === 'ok' ? s : undefined;
  }, 60_000);
  assert.equal(status!.InstanceState?.Name, 'running');

  assert.equal(await errorCode(ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value: 't3.small' } }))), 'IncorrectInstanceState');
  assert.equal(await errorCode(ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }))), 'OperationNotPermitted');

  const stopping = await ec2.send(new StopInstancesCommand({ InstanceIds: [id] }));
  assert.deepEqual(stopping.StoppingInstances![0]!.PreviousState, { Code: 16, Name: 'running' });
  assert.equal(stopping.StoppingInstances![0]!.CurrentState?.Name, 'stopping');
  const stopped = await waitForState(ec2, id, 'stopped', 60_000);
  assert.equal(stopped.StateReason?.Code, 'Client.UserInitiatedShutdown');
  assert.match(stopped.StateTransitionReason ?? '', /^User initiated \(\d{4}-\d\d-\d\d \d\d:\d\d:\d\d GMT\)$/);
  assert.equal(stopped.PublicIpAddress, undefined, 'a stopped instance has no auto-assigned public IP');
  assert.equal(stopped.PrivateIpAddress, privateIp);
  const idle = await ec2.send(new DescribeInstanceStatusCommand({ InstanceIds: [id], IncludeAllInstances: true }));
  assert.equal(idle.InstanceStatuses![0]!.InstanceStatus?.Status, 'not-applicable', 'a stopped instance is not ok');

  await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, InstanceType: { Value: 't3.small' } }));
  const type = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'instanceType' }));
  assert.equal(type.InstanceType?.Value, 't3.small');
  const newUserData = '#!/bin/sh\necho user-data-replaced-7\n';
  await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, UserData: { Value: Buffer.from(newUserData) } }));
  const ud = await ec2.send(new DescribeInstanceAttributeCommand({ InstanceId: id, Attribute: 'userData' }));
  assert.equal(Buffer.from(ud.UserData!.Value!, 'base64').toString(), newUserData);

  await ec2.send(new StartInstancesCommand({ InstanceIds: [id] }));
  const again = await waitForState(ec2, id, 'running', 60_000);
  assert.equal(again.PrivateIpAddress, privateIp, 'the private IP survives stop/start');
  assert.equal(again.InstanceType, 't3.small');
  await waitFor('the enabled service on the second boot', async () => count(await consoleOf(id), 'hello-service-started') >= 1, 60_000);
  await waitFor('the file written at first boot, read at the second', async () => (await consoleOf(id)).includes('file-says-kept'), 60_000);

  await ec2.send(new RebootInstancesCommand({ InstanceIds: [id] }));
  const before = count(await consoleOf(id), 'hello-service-started');
  await waitFor('the enabled service after reboot', async () => count(await consoleOf(id), 'hello-service-started') > before, 60_000);
  const after = await consoleOf(id);
  assert.equal(count(after, 'user-data-ran'), 1, 'user data ran only at first boot');
  assert.equal(count(after, 'user-data-replaced-7'), 0, 'changed user data does not run on later boots either');
  assert.equal((await describeInstance(ec2, id)).State?.Name, 'running');

  await ec2.send(new ModifyInstanceAttributeCommand({ InstanceId: id, DisableApiTermination: { Value: false } }));
  const eniId = again.NetworkInterfaces![0]!.NetworkInterfaceId!;
  const term = await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  assert.equal(term.TerminatingInstances![0]!.CurrentState?.Name, 'shutting-down');
  const gone = await waitForState(ec2, id, 'terminated', 60_000);
  assert.equal(gone.State?.Code, 48);
  assert.equal(gone.PrivateIpAddress, undefined);
  const enis = await ec2.send(new DescribeNetworkInterfacesCommand({ Filters: [{ Name: 'network-interface-id', Values: [eniId] }] }));
  assert.deepEqual(enis.NetworkInterfaces, [], 'the primary interface went with the instance');
  assert.equal(await errorCode(ec2.send(new StartInstancesCommand({ InstanceIds: [id] }))), 'IncorrectInstanceState');
  assert.ok(!existsSync(join(f.kumo.dataDir, 'instances', id)), 'nothing of the instance stays on the host');
  const volumeId = again.BlockDeviceMappings![0]!.Ebs!.VolumeId!;
  assert.ok(!existsSync(join(f.kumo.dataDir, 'volumes', volumeId)), 'the root volume was deleted (DeleteOnTermination)');
});

test('a root volume and an interface with DeleteOnTermination=false outlive their instance', { skip, timeout: 5 * 60_000 }, async () => {
  const ami = await debianImageId(ec2);
  const subnet = (await ec2.send(new DescribeSubnetsCommand({ Filters: [{ Name: 'default-for-az', Values: ['true'] }] }))).Subnets![0]!;
  const r = await ec2.send(new RunInstancesCommand({
    ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro',
    NetworkInterfaces: [{ DeviceIndex: 0, SubnetId: subnet.SubnetId, DeleteOnTermination: false }],
    UserData: Buffer.from('#!/bin/sh\necho precious > /root/data\n').toString('base64'),
    BlockDeviceMappings: [{ DeviceName: '/dev/xvda', Ebs: { DeleteOnTermination: false, VolumeSize: 10 } }],
  }));
  const id = r.Instances![0]!.InstanceId!;
  const running = await waitForState(ec2, id, 'running');
  const root = running.BlockDeviceMappings![0]!;
  assert.equal(root.Ebs?.DeleteOnTermination, false);
  assert.match(root.Ebs?.VolumeId ?? '', /^vol-[0-9a-f]{17}$/);
  await waitFor('user data', async () => (await consoleOf(id)).includes('user data exited with status 0'), 60_000);
  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  await waitForState(ec2, id, 'terminated', 60_000);
  assert.equal(await readFromRootVolume(join(f.kumo.dataDir, 'volumes', root.Ebs!.VolumeId!, 'disk'), 'root/data'), 'precious\n');
  const eni = (await ec2.send(new DescribeNetworkInterfacesCommand({ NetworkInterfaceIds: [running.NetworkInterfaces![0]!.NetworkInterfaceId!] }))).NetworkInterfaces![0]!;
  assert.equal(eni.Status, 'available', 'the interface stays, detached');
  assert.equal(eni.Attachment, undefined);
  assert.equal(eni.PrivateIpAddress, running.PrivateIpAddress);
});

test('/_kumo/reset ends every instance and leaves nothing of them on the host', { skip, timeout: 5 * 60_000 }, async () => {
  const ami = await debianImageId(ec2);
  const r = await ec2.send(new RunInstancesCommand({ ImageId: ami, MinCount: 2, MaxCount: 2, InstanceType: 't3.micro' }));
  const ids = r.Instances!.map((i) => i.InstanceId!);
  for (const id of ids) await waitForState(ec2, id, 'running');
  const res = await fetch(`${f.kumo.url}/_kumo/reset`, { method: 'POST' });
  assert.equal(res.status, 200);
  const out = await ec2.send(new DescribeInstancesCommand({}));
  assert.deepEqual(out.Reservations, []);
  for (const id of ids) {
    assert.deepEqual(leftovers(id), [], `nothing of ${id} remains`);
    assert.ok(!existsSync(join(f.kumo.dataDir, 'instances', id)));
  }
});
