/**
 * The EC2 data-plane supervisor: makes the host match the instance rows, as a user of the shared
 * reconcile loop (runtime/reconciler.ts).
 *
 *   handlers write a request (pending, stopping, shutting-down, reboot) → wake() →
 *   plan(row): the step the row asks for (boot, stop, terminate, reboot, halt) →
 *   afterPass: re-derive each VPC's rules and each running instance's port and apply what changed →
 *   step done → row moves on (running, stopped, terminated) → wake() again
 *
 * The rows are the truth: after a restart, an instance whose row says `running` and whose
 * container still runs (kumo crashed; the driver adopted it) is plugged in again as it is, never
 * rebooted; one whose container is gone is booted again. One that this process booted and that
 * died on its own stays `running` with failing status checks, as a crashed EC2 instance does; one
 * whose OS powered itself off is stopped (or terminated, per InstanceInitiatedShutdownBehavior).
 * Once every instance that should run is plugged, the fabric drops what nobody claimed.
 */
import type { ListedDevice } from '../../../runtime/instances/devices.js';
import type { InstanceDriver } from '../../../runtime/instances/driver.js';
import { Together, type Place } from '../../../lib/together.js';
import { Reconciler } from '../../../runtime/reconciler.js';
import type { SnapshotStore } from '../../../runtime/snapshots/store.js';
import type { VolumeStore } from '../../../runtime/volumes.js';
import { RootVolumes } from './root-volumes.js';
import { InstanceStoreDisks } from './instance-store.js';
import { intToIp, parseCidr4 } from '../../../lib/cidr.js';
import type { Scope } from '../../../state/scope.js';
import { userReason, TERMINATED_VISIBLE_MS } from '../instances/instances.js';
import type { InstanceRecord, InstanceStore } from '../instances/store.js';
import { keyPairTable } from '../keys/store.js';
import type { Ec2Store } from '../store.js';
import { InstancePorts } from './ports.js';
import type { DataPlane } from '../../../runtime/data-plane.js';
import { unmap } from '../vpc/elastic-ips.js';
import { INSTANCE_TYPE_BY_NAME } from '../catalog/instance-types-data.js';
import { releaseVolumesOf } from '../ebs/instance-volumes.js';
import { rootInsideName } from '../ebs/devices.js';

export interface SupervisorDeps {
  store: Ec2Store;
  instances: InstanceStore;
  driver: InstanceDriver;
  /** Root volumes as directories (native runtime only); the process runtime has none. */
  volumes?: VolumeStore;
  /** Where instance-store disks live (native runtime only). */
  instanceStoreDir?: string;
  /** EBS snapshots: roots of instances launched from images of one's own are restored from them. */
  snapshots?: SnapshotStore;
  /** The shared VPC data plane (its fabric opens on first use; the process runtime has none). */
  plane: DataPlane;
  /** The rootfs of a kumo image, built first if needed (may take minutes). */
  imageRootfs: (name: string) => Promise<string>;
  /** CA certificates new instances trust (kumo's own, for AWS's endpoints inside VPCs). */
  trustedCertificates?: () => Promise<string[]>;
  log: (line: string) => void;
  now: () => Date;
  /** Told when an instance's container starts, is adopted after a restart, or ends (the EBS supervisor's devices follow). */
  containers?: (instanceId: string, how: 'started' | 'adopted' | 'ended') => void;
  /** Told after an instance row changed state here (a termination changes its volumes' rows too). */
  settled?: () => void;
}

export type CheckStatus = 'ok' | 'impaired' | 'initializing' | 'not-applicable' | 'insufficient-data';

const STOP_DEADLINE_MS = 20_000;
const FORCE_STOP_DEADLINE_MS = 2_000;

type Row = { scope: Scope; instance: InstanceRecord };

export class InstanceSupervisor {
  private readonly loop: Reconciler<Row>;
  /** Instances this process booted (a `running` row not in here needs booting after a restart). */
  private readonly booted = new Set<string>();
  /** Instances this process booted whose container then died without being asked to. */
  private readonly crashed = new Set<string>();
  private readonly ports: InstancePorts;
  private readonly roots: RootVolumes;
  /** Instance types with instance storage get their ephemeral disks here. */
  readonly instanceStore: InstanceStoreDisks;
  /** Boots under way get their instances ready, then start them together (see boot). */
  private readonly starting = new Together();

  constructor(private readonly deps: SupervisorDeps) {
    this.ports = new InstancePorts(deps.store, deps.plane, deps.log);
    this.roots = new RootVolumes(deps.volumes, deps.snapshots);
    this.instanceStore = new InstanceStoreDisks(deps.instanceStoreDir, deps.driver);
    this.loop = new Reconciler<Row>({
      name: 'instance',
      desired: () => deps.instances.everywhere(),
      key: (r) => r.instance.InstanceId,
      plan: (r) => this.plan(r),
      afterPass: (rows, busy) => this.afterPass(rows, busy),
      recover: () => this.recover(),
      log: deps.log,
    });
  }

  /** Something changed: schedule a pass (coalesced). */
  wake(): void {
    this.loop.wake();
  }

  /** At kumo start: take over what still runs, then the first pass. */
  start(): Promise<void> {
    return this.loop.start();
  }

  /** The driver reports a container that ended without being asked to. */
  exited(id: string, how: 'poweroff' | 'reboot' | 'crash'): void {
    if (!this.booted.has(id) || this.loop.busy(id)) return;
    const found = this.deps.instances.everywhere().find((r) => r.instance.InstanceId === id);
    if (!found || found.instance.State !== 'running') return;
    const { scope, instance } = found;
    if (how === 'crash') {
      this.crashed.add(id);
      this.deps.containers?.(id, 'ended');
      this.deps.log(`instance ${id}: its processes died; status checks now fail`);
      return;
    }
    if (how === 'reboot') {
      this.save(scope, { ...instance, RebootRequested: true });
    } else {
      const terminate = instance.InstanceInitiatedShutdownBehavior === 'terminate';
      this.save(scope, {
        ...instance,
        State: terminate ? 'shutting-down' : 'stopping',
        StateTransitionReason: userReason(this.deps.now(), 'Instance initiated shutdown'),
        StateReason: { Code: 'Client.InstanceInitiatedShutdown', Message: 'Client.InstanceInitiatedShutdown: Instance initiated shutdown' },
      });
    }
    this.wake();
  }

  async statusChecks(i: InstanceRecord): Promise<{ system: CheckStatus; instance: CheckStatus }> {
    if (i.State !== 'running') return { system: 'not-applicable', instance: 'not-applicable' };
    if (!this.booted.has(i.InstanceId) || this.loop.busy(i.InstanceId)) return { system: 'initializing', instance: 'initializing' };
    const observed = this.deps.driver.status(i.InstanceId);
    if (observed !== 'running' || this.crashed.has(i.InstanceId)) return { system: 'ok', instance: 'impaired' };
    return { system: 'ok', instance: (await this.deps.driver.health?.(i.InstanceId)) ?? 'ok' };
  }

  consoleOutput(id: string): string {
    return this.deps.driver.consoleOutput(id);
  }

  /**
   * At start: instances the driver finds still running (adopted) keep running if their rows want
   * them; an adopted container without a row has nothing left to serve.
   */
  private async recover(): Promise<void> {
    const adopted = (await this.deps.driver.adopt?.()) ?? [];
    const known = new Set(this.deps.instances.everywhere().map((r) => r.instance.InstanceId));
    for (const id of adopted) {
      if (known.has(id)) continue;
      this.deps.log(`instance ${id}: running without a record; terminating it`);
      await this.deps.driver.terminate(id, FORCE_STOP_DEADLINE_MS).catch((err) => this.deps.log(`instance ${id}: ${err}`));
    }
    if (adopted.length) this.deps.log(`instances: ${adopted.length} still running, taken over as they are`);
    // A crash between an instance's stop and its volume's release leaves the volume mounted.
    for (const { instance } of this.deps.instances.everywhere()) {
      if (!adopted.includes(instance.InstanceId) && !['pending', 'running'].includes(instance.State)) await this.roots.release(instance).catch(() => {});
    }
  }

  private plan({ scope, instance: i }: Row): (() => Promise<void>) | undefined {
    const observed = () => this.deps.driver.status(i.InstanceId);
    if (i.State === 'pending') return () => this.boot(scope, i);
    if (i.State === 'stopping') return () => this.stop(scope, i);
    if (i.State === 'shutting-down') return () => this.terminate(scope, i);
    if (i.State === 'running' && i.RebootRequested) return () => this.reboot(scope, i);
    if (i.State === 'running' && !this.booted.has(i.InstanceId)) return () => this.boot(scope, i);
    // Adopted after a restart, but its row no longer wants it running.
    if ((i.State === 'stopped' || i.State === 'terminated') && observed() === 'running') return () => this.halt(i);
    if (i.State === 'terminated' && i.TerminatedAt && this.deps.now().getTime() - Date.parse(i.TerminatedAt) > TERMINATED_VISIBLE_MS) {
      return async () => this.purge(scope, i);
    }
    return undefined;
  }

  /** Terminated instances stay listed for an hour, as on EC2, then their rows go. */
  private purge(scope: Scope, i: InstanceRecord): void {
    this.deps.store.transaction(() => {
      this.deps.instances.delete(scope, i.InstanceId);
      this.deps.store.tags.removeAll(scope, i.InstanceId);
    });
  }

  private async afterPass(all: Row[], busy: ReadonlySet<string>): Promise<void> {
    await this.ports.sync(all.filter(({ instance }) => !busy.has(instance.InstanceId)));
    const settled = busy.size === 0 && all.every(({ instance: i }) => !['pending', 'running'].includes(i.State) || this.booted.has(i.InstanceId));
    if (settled) await this.ports.prune();
  }

  /** Re-reads the row and applies `change` only if it is still in `expected` (a request may have come in meanwhile). */
  private settle(scope: Scope, id: string, expected: InstanceRecord['State'][], change: (i: InstanceRecord) => InstanceRecord): boolean {
    const changed = this.deps.store.transaction(() => {
      const fresh = this.deps.instances.get(scope, id);
      if (!fresh || !expected.includes(fresh.State)) return false;
      this.deps.instances.put(scope, change(fresh));
      return true;
    });
    if (changed) this.deps.settled?.();
    return changed;
  }

  private save(scope: Scope, i: InstanceRecord): void {
    this.deps.instances.put(scope, i);
  }

  private async boot(scope: Scope, i: InstanceRecord): Promise<void> {
    const { driver } = this.deps;
    const fresh = driver.status(i.InstanceId) === 'terminated';
    const adopted = driver.status(i.InstanceId) === 'running';
    let volume: Promise<string | undefined> | undefined;
    let place: Place | undefined;
    try {
      const rootfs = await this.deps.imageRootfs(i.KumoImage);
      // A container booting takes the CPU the others' preparation needs (20 at once made each
      // step several times slower): instances launched together are all made ready first (root
      // volume, port in the fabric as one batch, root provisioned), then all start.
      place = this.starting.join();
      // The root volume is made and mounted while the port is plugged: neither boots anything.
      volume = this.roots.ready(i, rootfs);
      volume.catch(() => {}); // awaited below; its failure is the boot's
      const netns = await this.ports.plug(scope, i);
      await volume;
      const blockDevices = await this.blockDevices(i);
      if (fresh) {
        const key = i.KeyName ? keyPairTable(this.deps.store.db).list(scope).find((k) => k.KeyName === i.KeyName) : undefined;
        await driver.launch({
          id: i.InstanceId,
          imageRootfs: rootfs,
          hostname: `ip-${i.PrivateIpAddress.replaceAll('.', '-')}`,
          nameservers: dnsServersOf(this.deps.store, scope, i.VpcId),
          userData: i.UserData ? Buffer.from(i.UserData, 'base64') : undefined,
          defaultUser: i.DefaultUser,
          publicKeys: key ? [key.PublicKey] : [],
          hostToken: i.HostToken,
          trustedCertificates: await this.deps.trustedCertificates?.(),
          netns,
          resources: resourcesOf(i.InstanceType),
          volume: await volume,
          blockDevices,
        }, place.arrive);
      } else {
        await place.arrive();
        // A no-op for a container adopted after a restart: it keeps running as it is.
        await driver.start(i.InstanceId, { netns, resources: resourcesOf(i.InstanceType), blockDevices });
      }
      place.leave();
      // Running from here, as an EC2 instance is once its VM starts: its OS boots on its own.
      await this.instanceStore.expose(i);
      this.booted.add(i.InstanceId);
      this.crashed.delete(i.InstanceId);
      this.deps.containers?.(i.InstanceId, adopted ? 'adopted' : 'started');
    } catch (err) {
      place?.leave();
      this.deps.log(`instance ${i.InstanceId}: could not boot: ${(err as Error).message}`);
      // Cleaning up under a volume still being made would leave it behind.
      await volume?.catch(() => {});
      await driver.stop(i.InstanceId, FORCE_STOP_DEADLINE_MS).catch(() => {});
      await this.instanceStore.discard(i.InstanceId).catch(() => {});
      await this.ports.unplug(i.InstanceId).catch(() => {});
      const reason = { Code: 'Server.InternalError', Message: 'Server.InternalError: Internal error on launch' };
      this.deps.containers?.(i.InstanceId, 'ended');
      if (fresh) {
        await driver.terminate(i.InstanceId, FORCE_STOP_DEADLINE_MS).catch(() => {});
        await this.roots.discard({ ...i, RootDeleteOnTermination: true }).catch(() => {});
        // A launch that failed leaves no volume behind, whatever DeleteOnTermination said.
        this.settle(scope, i.InstanceId, ['pending', 'running'], (r) => this.terminatedRow(scope, { ...r, RootDeleteOnTermination: true }, reason));
      } else {
        await this.roots.release(i).catch(() => {});
        this.settle(scope, i.InstanceId, ['pending', 'running'], (r) => ({ ...r, State: 'stopped', StateReason: reason, PublicIpAddress: this.releasePublicIp(r) }));
      }
      return;
    }
    this.settle(scope, i.InstanceId, ['pending', 'running'], (r) => ({ ...r, State: 'running', StateReason: undefined, StateTransitionReason: '' }));
  }

  private async reboot(scope: Scope, i: InstanceRecord): Promise<void> {
    await this.deps.driver.stop(i.InstanceId, STOP_DEADLINE_MS);
    const netns = this.ports.plugged(i.InstanceId) ? await this.ports.plug(scope, i) : undefined;
    await this.deps.driver.start(i.InstanceId, { netns, resources: resourcesOf(i.InstanceType), blockDevices: await this.blockDevices(i) });
    // A reboot keeps instance-store data; the new container gets the same disks.
    await this.instanceStore.expose(i);
    this.booted.add(i.InstanceId);
    this.crashed.delete(i.InstanceId);
    this.deps.containers?.(i.InstanceId, 'started');
    this.settle(scope, i.InstanceId, ['running'], (r) => ({ ...r, RebootRequested: false }));
  }

  /** What a (re)started container lists in its /sys/block: its root volume, under its name inside. */
  private async blockDevices(i: InstanceRecord): Promise<ListedDevice[]> {
    const root = await this.roots.device(i);
    return root ? [{ hostDevice: root, name: rootInsideName(i.RootDeviceName) }] : [];
  }

  private async stop(scope: Scope, i: InstanceRecord): Promise<void> {
    await this.deps.driver.stop(i.InstanceId, i.ForceStop ? FORCE_STOP_DEADLINE_MS : STOP_DEADLINE_MS);
    this.deps.containers?.(i.InstanceId, 'ended');
    if (!i.ImageStop) await this.instanceStore.discard(i.InstanceId);
    await this.roots.release(i);
    await this.ports.unplug(i.InstanceId);
    this.booted.delete(i.InstanceId);
    this.crashed.delete(i.InstanceId);
    this.settle(scope, i.InstanceId, ['stopping'], (r) => ({ ...r, State: 'stopped', ForceStop: undefined, RebootRequested: false, PublicIpAddress: r.ImageStop ? r.PublicIpAddress : this.releasePublicIp(r) }));
  }

  /** Brings the host in line with a row that is already stopped or terminated. */
  private async halt(i: InstanceRecord): Promise<void> {
    if (i.State === 'terminated') await this.deps.driver.terminate(i.InstanceId, FORCE_STOP_DEADLINE_MS);
    else await this.deps.driver.stop(i.InstanceId, STOP_DEADLINE_MS);
    this.deps.containers?.(i.InstanceId, 'ended');
    await this.instanceStore.discard(i.InstanceId);
    await (i.State === 'terminated' ? this.roots.discard(i) : this.roots.release(i));
    await this.ports.unplug(i.InstanceId);
  }

  private async terminate(scope: Scope, i: InstanceRecord): Promise<void> {
    await this.deps.driver.stop(i.InstanceId, STOP_DEADLINE_MS);
    this.deps.containers?.(i.InstanceId, 'ended');
    await this.ports.unplug(i.InstanceId);
    await this.deps.driver.terminate(i.InstanceId);
    await this.instanceStore.discard(i.InstanceId);
    // DeleteOnTermination=false: the volume outlives its instance, in <data-dir>/volumes/<vol-id>/.
    await this.roots.discard(i);
    this.booted.delete(i.InstanceId);
    this.crashed.delete(i.InstanceId);
    this.settle(scope, i.InstanceId, ['shutting-down'], (r) => this.terminatedRow(scope, r, r.StateReason));
  }

  /** The row of a terminated instance; frees its interface (unless DeleteOnTermination=false), addresses and Elastic IP association (call in a transaction). */
  private terminatedRow(scope: Scope, r: InstanceRecord, reason: InstanceRecord['StateReason']): InstanceRecord {
    const n = this.deps.store.network;
    const eni = n.networkInterfaces.get(scope, r.NetworkInterfaceId);
    if (eni && eni.Attachment?.DeleteOnTermination === false) {
      // The interface outlives the instance, detached, with its addresses and Elastic IP.
      const { Attachment: _gone, ...detached } = eni;
      n.networkInterfaces.update(scope, eni.NetworkInterfaceId, { ...detached, Status: 'available' });
      for (const a of n.elasticIps.list(scope).filter((x) => x.NetworkInterfaceId === eni.NetworkInterfaceId)) {
        const { InstanceId: _i, ...rest } = a;
        n.elasticIps.update(scope, a.AllocationId, rest);
      }
    } else {
      for (const a of n.elasticIps.list(scope).filter((x) => x.NetworkInterfaceId === r.NetworkInterfaceId)) unmap(this.deps.store, scope, a);
      n.addresses.releaseOwner(scope, r.NetworkInterfaceId);
      n.networkInterfaces.delete(scope, r.NetworkInterfaceId);
      this.deps.store.tags.removeAll(scope, r.NetworkInterfaceId);
    }
    // Its volumes are let go as AWS does: deleted (DeleteOnTermination) or detached.
    releaseVolumesOf(this.deps.store, scope, r);
    return {
      ...r,
      State: 'terminated',
      StateReason: reason,
      PublicIpAddress: this.releasePublicIp(r),
      RebootRequested: false,
      TerminatedAt: this.deps.now().toISOString(),
    };
  }

  /** Auto-assigned public IPs go back to the pool when an instance stops (AWS gives a new one at start). */
  private releasePublicIp(r: InstanceRecord): undefined {
    if (r.PublicIpAddress) this.deps.store.network.publicIps.release(r.PublicIpAddress);
    return undefined;
  }

  /** kumo is stopping: every instance is shut down cleanly; rows keep saying `running`, so the next start boots them again. */
  async close(): Promise<void> {
    await this.loop.close();
    const running = this.deps.instances.everywhere().filter(({ instance }) => this.deps.driver.status(instance.InstanceId) === 'running');
    await Promise.all(
      running.map(async ({ instance }) => {
        await this.deps.driver.stop(instance.InstanceId, STOP_DEADLINE_MS).catch((err) => this.deps.log(`instance ${instance.InstanceId}: ${err}`));
        await this.instanceStore.discard(instance.InstanceId).catch((err) => this.deps.log(`instance ${instance.InstanceId}: ${err}`));
        await this.roots.release(instance).catch((err) => this.deps.log(`instance ${instance.InstanceId}: ${err}`));
      }),
    );
    this.ports.forget();
    await this.deps.driver.close?.();
  }

  /** After /_kumo/reset wiped the rows: remove every instance this process knows of from the host. */
  async reset(known: string[]): Promise<void> {
    await this.loop.drain();
    for (const id of known) {
      await this.deps.driver.terminate(id, FORCE_STOP_DEADLINE_MS).catch(() => {});
      await this.instanceStore.discard(id).catch(() => {});
    }
    await this.roots.removeAll();
    this.booted.clear();
    this.crashed.clear();
    this.ports.forget();
  }
}

/** The instance type's memory and vCPUs, which its container is held to. */
export function resourcesOf(instanceType: string): { memoryBytes?: number; vcpus?: number } {
  const t = INSTANCE_TYPE_BY_NAME.get(instanceType);
  return t ? { memoryBytes: t.MemoryInfo.SizeInMiB * 1024 * 1024, vcpus: t.VCpuInfo.DefaultVCpus } : {};
}

/** The Amazon-provided DNS server: the VPC's primary CIDR base + 2. */
export function dnsServersOf(store: Ec2Store, scope: Scope, vpcId: string): string[] {
  const vpc = store.network.vpcs.get(scope, vpcId);
  const c = vpc ? parseCidr4(vpc.CidrBlock) : undefined;
  return c ? [intToIp(c.base + 2)] : [];
}
