/**
 * kumo's own lifecycle with instances in it: `kumo stop` (SIGTERM) shuts every instance down
 * cleanly and leaves nothing on the host; the next start boots the instances whose rows say
 * running (their enabled services start again, user data does not); after `kill -9` of kumo the
 * orphaned containers are reclaimed at the next start and the instance comes back once, not twice.
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { rmSync } from 'node:fs';
import { EC2Client, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { clientConfig, spawnKumo, tempDir, waitFor, type SpawnedKumo } from '../helpers/kumo.js';
import { consoleText, debianImageId, HELLO_SERVICE, occurrences, waitForState } from '../helpers/ec2.js';
import { leftovers, nativeSkipReason } from './support.js';
import { ensureDist } from '../cli/dist.js';
import { Fabric } from '../../src/runtime/network/fabric.js';

const skip = nativeSkipReason();
const dataDir = skip ? '' : tempDir('kumo-restart-');
let kumo: SpawnedKumo | undefined;

const USER_DATA = `#!/bin/bash
${HELLO_SERVICE}
systemctl start hello.service
echo user-data-ran
`;

async function boot(): Promise<EC2Client> {
  kumo = await spawnKumo(dataDir, ['--quiet']);
  return new EC2Client(clientConfig(kumo.url));
}

/** Stops kumo; after a clean stop, nothing of its VPC fabric (namespaces, veths, nft tables, slot lock) may remain. */
async function stopKumo(signal: NodeJS.Signals): Promise<string | undefined> {
  const slot = /fabric slot (\d+)/.exec(kumo!.output())?.[1];
  kumo!.child.kill(signal);
  await kumo!.exited;
  kumo = undefined;
  if (signal === 'SIGTERM' && slot !== undefined) assert.deepEqual(await Fabric.leftovers(Number(slot)), [], `fabric slot ${slot} left behind`);
  return slot;
}

const count = occurrences;
const consoleOf = consoleText;

before(async () => {
  if (!skip) await ensureDist();
});

after(async () => {
  if (skip) return;
  if (kumo) await stopKumo('SIGTERM');
  rmSync(dataDir, { recursive: true, force: true });
});

test('instances survive kumo stop/start and a kill -9 of kumo', { skip, timeout: 10 * 60_000 }, async (t) => {
  let ec2 = await boot();
  const ami = await debianImageId(ec2);
  const r = await ec2.send(new RunInstancesCommand({ ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', UserData: Buffer.from(USER_DATA).toString('base64') }));
  const id = r.Instances![0]!.InstanceId!;
  await waitForState(ec2, id, 'running');
  await waitFor('user data', async () => (await consoleOf(ec2, id)).includes('user-data-ran'), 60_000);

  const stopping = Date.now();
  assert.ok((await stopKumo('SIGTERM')) !== undefined, 'the VPC data plane was up, and is gone');
  t.diagnostic(`kumo stop with one instance: ${Date.now() - stopping} ms`);
  assert.deepEqual(leftovers(id), [], 'kumo stop leaves no container, mount or namespace of the instance');

  ec2 = await boot();
  await waitFor('the instance to boot again', async () => count(await consoleOf(ec2, id), 'hello-service-started') >= 2, 60_000);
  assert.equal((await waitForState(ec2, id, 'running', 10_000)).State?.Name, 'running');
  assert.equal(count(await consoleOf(ec2, id), 'user-data-ran'), 1, 'user data ran once');

  await stopKumo('SIGKILL');
  assert.ok(leftovers(id).some((l) => l.startsWith('process')), 'a killed kumo leaves its containers running');
  ec2 = await boot();
  await waitFor('the instance to boot a third time', async () => count(await consoleOf(ec2, id), 'hello-service-started') >= 3, 60_000);
  const nspawns = leftovers(id).filter((l) => l.startsWith('process'));
  assert.equal(nspawns.length, 1, `one container for the instance, not two: ${nspawns.join('; ')}`);

  await ec2.send(new TerminateInstancesCommand({ InstanceIds: [id] }));
  await waitForState(ec2, id, 'terminated', 60_000);
  await stopKumo('SIGTERM');
  assert.deepEqual(leftovers(id), []);
});
