/**
 * Images and snapshots through the API (needs root and systemd-nspawn; otherwise it says why and
 * reports nothing): a kumo is spawned as users start it and one instance launched. Then, for 1 MiB,
 * 100 MiB and 1 GiB of new data written inside the instance, CreateImage (with its default reboot:
 * stop, snapshot at rest, start) timed from the call to `available`; RunInstances from the last
 * image to `running`; and the bytes a second snapshot of the root volume stores after a 1 MiB
 * change, next to the volume's size. The base image comes from the tests' per-machine cache.
 */
import { CreateImageCommand, CreateSnapshotCommand, DescribeImagesCommand, DescribeInstancesCommand, DescribeSnapshotsCommand, DescribeVolumesCommand, EC2Client, RunInstancesCommand, TerminateInstancesCommand } from '@aws-sdk/client-ec2';
import { execFile } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { promisify } from 'node:util';
import { detectRuntime } from '../src/runtime/detect.js';
import { childrenOf } from '../src/runtime/instances/host.js';
import { SnapshotStore } from '../src/runtime/snapshots/store.js';
import { clientConfig } from './lib/clients.js';
import { spawnKumo } from './lib/spawn.js';
import { until } from './lib/wait.js';
import type { Benchmark } from './lib/types.js';

const exec = promisify(execFile);
const IMAGE_CACHE = process.env.KUMO_TEST_IMAGE_CACHE || '/var/tmp/kumo-test-images';
const MiB = 2 ** 20;

/** Runs a shell command as root inside the instance (its systemd's namespaces). */
async function inside(id: string, cmd: string): Promise<void> {
  for (const pid of readdirSync('/proc').filter((d) => /^\d+$/.test(d))) {
    try {
      const argv = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0');
      if (!argv[0]?.endsWith('systemd-nspawn') || !argv.includes(`--machine=${id}`)) continue;
      const init = childrenOf(Number(pid))[0];
      if (init === undefined) continue;
      await exec('nsenter', ['-t', String(init), '-U', '-m', '-p', '-r', '-w', '/bin/sh', '-c', cmd], { timeout: 300_000 });
      return;
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'ENOENT') throw err;
    }
  }
  throw new Error(`${id} is not running`);
}


const stateOf = async (ec2: EC2Client, id: string) => (await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }))).Reservations![0]!.Instances![0]!;

export const images: Benchmark = {
  name: 'images',
  description: 'CreateImage to available for 1 MiB / 100 MiB / 1 GiB of new data, RunInstances from an image, a second snapshot after 1 MiB',
  async run(progress) {
    const rt = detectRuntime();
    if (rt.mode !== 'native') return { text: `images: skipped (${rt.reason})`, data: { skipped: true } };
    const kumo = await spawnKumo({ env: { KUMO_IMAGE_DIR: IMAGE_CACHE } });
    const ec2 = new EC2Client(clientConfig(kumo.url));
    const ids: string[] = [];
    try {
      const catalog = await ec2.send(new DescribeImagesCommand({ Owners: ['136693071363'], Filters: [{ Name: 'name', Values: ['debian-12-amd64-*'] }] }));
      const launch = async (ami: string) => {
        const t0 = performance.now();
        const id = (await ec2.send(new RunInstancesCommand({ ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro' }))).Instances![0]!.InstanceId!;
        ids.push(id);
        await until(`${id} running`, async () => ((await stateOf(ec2, id)).State!.Name === 'running' ? true : undefined));
        return { id, ms: performance.now() - t0 };
      };
      progress('launching the instance to image (builds the base image if this machine has none)');
      const { id } = await launch(catalog.Images![0]!.ImageId!);
      const rows: { changedMiB: number; createImageMs: number }[] = [];
      let lastImage = '';
      for (const mib of [1, 100, 1024]) {
        progress(`writing ${mib} MiB, then CreateImage`);
        await until(`${id} up`, () => inside(id, `head -c ${mib * MiB} /dev/urandom > /var/tmp/bench-${mib}.bin && sync`).then(() => true, () => undefined), 120_000);
        const t0 = performance.now();
        lastImage = (await ec2.send(new CreateImageCommand({ InstanceId: id, Name: `bench-${mib}` }))).ImageId!;
        await until(`${lastImage} available`, async () => {
          const state = (await ec2.send(new DescribeImagesCommand({ ImageIds: [lastImage] }))).Images![0]!.State;
          if (state === 'failed') throw new Error(`${lastImage} failed`);
          return state === 'available' ? true : undefined;
        });
        rows.push({ changedMiB: mib, createImageMs: performance.now() - t0 });
        await until(`${id} running again`, async () => ((await stateOf(ec2, id)).State!.Name === 'running' ? true : undefined));
      }
      progress('RunInstances from the last image');
      const fromImage = await launch(lastImage);

      progress('two snapshots of the root volume, 1 MiB apart');
      const root = (await stateOf(ec2, id)).BlockDeviceMappings![0]!.Ebs!.VolumeId!;
      const snapshot = async () => {
        const s = (await ec2.send(new CreateSnapshotCommand({ VolumeId: root }))).SnapshotId!;
        await until(`${s} completed`, async () => ((await ec2.send(new DescribeSnapshotsCommand({ SnapshotIds: [s] }))).Snapshots![0]!.State === 'completed' ? true : undefined));
        return s;
      };
      await snapshot();
      await until(`${id} up`, () => inside(id, `head -c ${MiB} /dev/urandom > /var/tmp/bench-change.bin && sync`).then(() => true, () => undefined), 120_000);
      const second = await snapshot();
      const stored = new SnapshotStore(join(kumo.dataDir, 'snapshots')).info(second)!.storedBytes;
      const volumeGiB = (await ec2.send(new DescribeVolumesCommand({ VolumeIds: [root] }))).Volumes![0]!.Size;

      const text = [
        'CreateImage (default reboot: stop, snapshot, start), call to available',
        ...rows.map((r) => `  ${String(r.changedMiB).padStart(5)} MiB of new data  ${r.createImageMs.toFixed(0).padStart(7)} ms`),
        `RunInstances from the last image to running: ${fromImage.ms.toFixed(0)} ms`,
        `second snapshot of an ${volumeGiB} GiB root volume after a 1 MiB change: ${(stored / MiB).toFixed(1)} MiB stored (the file, and the filesystem's metadata and journal)`,
      ].join('\n');
      return { text, data: { createImage: rows, runFromImageMs: fromImage.ms, secondSnapshotStoredBytes: stored } };
    } finally {
      if (ids.length) await ec2.send(new TerminateInstancesCommand({ InstanceIds: ids })).catch(() => {});
      await until('instances terminated', async () => {
        const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: ids })).catch(() => undefined);
        return !out || out.Reservations!.flatMap((r) => r.Instances!).every((i) => i.State!.Name === 'terminated') ? true : undefined;
      }, 120_000).catch(() => {});
      ec2.destroy();
      await kumo.stop();
    }
  },
};
