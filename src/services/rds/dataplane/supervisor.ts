/**
 * The database supervisor: makes the host match the DB instance rows, on the shared reconcile
 * loop (runtime/reconciler.ts), one step at a time per instance. A DB instance is served by one
 * node: a container of the database image (runtime/images/db-recipe.ts) on a fabric port in its
 * subnet, with its security groups, its data on a volume of the instance's allocated size.
 *
 *   creating   → port plugged, disk made, node launched with the engine setup as its first-boot
 *                user data (./engine-setup.ts) → the setup's mark on its console → `available`
 *   available  → a node that is not running (kumo restarted after `kumo stop`, or it died) is
 *                started again
 *   rebooting  → node restarted → the engine answers → `available`
 *   stopping   → node stopped, port unplugged → `stopped`;  starting → plugged, started → `available`
 *   deleting   → node, port and disk gone; its addresses and interface released → the row goes
 *
 * "The engine answers" is a TCP connection to its port from inside the node's network namespace.
 * While a row waits for its engine, the loop looks again every POLL_MS. Nodes' disks are volumes
 * in a store of RDS's own (`<data-dir>/db-volumes`), apart from EBS's.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import type { DataPlane } from '../../../runtime/data-plane.js';
import type { InstanceDriver } from '../../../runtime/instances/driver.js';
import { Reconciler } from '../../../runtime/reconciler.js';
import { GiB, type VolumeStore } from '../../../runtime/volumes.js';
import type { NetworkStore } from '../../../state/network.js';
import type { Scope } from '../../../state/scope.js';
import type { TagStore } from '../../../state/tags.js';
import { vpcPolicyOf, vpcSpecOf } from '../../../state/vpc-policy.js';
import { DB_CLASSES } from '../instances/engines.js';
import type { DbInstanceRecord, DbInstanceStatus, RdsStore } from '../store.js';
import { engineSetup, READY_MARK } from './engine-setup.js';

export const RDS_PORT_OWNER = 'rds';
export const DB_IMAGE_NAME = 'kumo-db-12';
const POLL_MS = 500;
const STOP_DEADLINE_MS = 30_000;
/** A first boot that never prints its mark (the setup failed) is `failed` after this long. */
const SETUP_DEADLINE_MS = 5 * 60_000;

export interface DbSupervisorDeps {
  store: RdsStore;
  network: NetworkStore;
  tags: TagStore;
  plane: DataPlane;
  driver: InstanceDriver;
  volumes?: VolumeStore;
  imageRootfs: (name: string) => Promise<string>;
  log: (line: string) => void;
  now: () => Date;
}

type Row = { scope: Scope; row: DbInstanceRecord };

export class DbSupervisor {
  private readonly loop: Reconciler<Row>;
  private poll: NodeJS.Timeout | undefined;
  private readonly launchedAt = new Map<string, number>();
  /** What was last applied of each VPC that has nodes (its spec and rules, as JSON). */
  private readonly appliedVpc = new Map<string, string>();

  constructor(private readonly deps: DbSupervisorDeps) {
    this.loop = new Reconciler<Row>({
      name: 'rds',
      desired: () => deps.store.instances.everywhere(),
      key: (r) => r.row.NodeId,
      plan: (r) => this.plan(r.scope, r.row),
      afterPass: async (rows) => {
        this.schedulePoll(rows);
        await this.syncVpcs(rows);
      },
      recover: async () => {
        await deps.driver.adopt?.();
      },
      log: deps.log,
    });
  }

  start(): Promise<void> {
    return this.loop.start();
  }

  wake(): void {
    this.loop.wake();
  }

  /** A node's container ended without being asked: the loop starts it again. */
  exited(nodeId: string): void {
    this.deps.log(`database node ${nodeId}: its container ended; starting it again`);
    this.wake();
  }

  private plan(scope: Scope, r: DbInstanceRecord): (() => Promise<void>) | undefined {
    const running = this.deps.driver.status(r.NodeId) === 'running';
    switch (r.DBInstanceStatus) {
      case 'creating':
        if (this.deps.driver.status(r.NodeId) === 'terminated') return () => this.launch(scope, r);
        if (!running) return () => this.boot(scope, r);
        return () => this.awaitSetup(scope, r);
      case 'available':
        return running ? undefined : () => this.boot(scope, r);
      case 'rebooting':
        return () => this.reboot(scope, r);
      case 'starting':
        return running ? () => this.settleWhenAnswering(scope, r, 'starting') : () => this.boot(scope, r);
      case 'stopping':
        return () => this.stop(scope, r);
      case 'deleting':
        return () => this.remove(scope, r);
      default:
        return undefined;
    }
  }

  /** Rows waiting on their engine are looked at again shortly; nothing else polls. */
  private schedulePoll(rows: Row[]): void {
    const waiting = rows.some((x) => ['creating', 'rebooting', 'starting'].includes(x.row.DBInstanceStatus));
    if (!waiting || this.poll) return;
    this.poll = setTimeout(() => {
      this.poll = undefined;
      this.wake();
    }, POLL_MS);
    this.poll.unref();
  }

  private resources(r: DbInstanceRecord) {
    const c = DB_CLASSES[r.DBInstanceClass]!;
    return { memoryBytes: c.memoryMiB * 2 ** 20, vcpus: c.vcpus };
  }

  /** Its port in the VPC (the VPC's rules applied first): the namespace the node runs in. */
  private async plug(scope: Scope, r: DbInstanceRecord): Promise<string> {
    const net = await this.deps.plane.network();
    const spec = vpcSpecOf(this.deps.network, scope, r.VpcId);
    const subnet = this.deps.network.subnets.get(scope, r.SubnetId);
    if (!spec || !subnet) throw new Error(`its VPC ${r.VpcId} or subnet ${r.SubnetId} is gone`);
    await this.applyVpc(scope, r.VpcId);
    const { netns } = await net.plug({
      portId: r.NodeId,
      owner: RDS_PORT_OWNER,
      vpcId: r.VpcId,
      subnetCidr: subnet.CidrBlock,
      privateIp: r.PrivateIpAddress,
      groups: r.VpcSecurityGroupIds,
      publicIps: r.PublicIpAddress ? [r.PublicIpAddress] : [],
    });
    return netns;
  }

  /** The VPC's routing and rules as its rows say now (applied only when they changed). */
  private async applyVpc(scope: Scope, vpcId: string): Promise<void> {
    const spec = vpcSpecOf(this.deps.network, scope, vpcId);
    if (!spec) return;
    const policy = vpcPolicyOf(this.deps.network, scope, vpcId);
    const json = JSON.stringify([spec, policy]);
    if (this.appliedVpc.get(vpcId) === json) return;
    await (await this.deps.plane.network()).ensureVpc(spec, policy);
    this.appliedVpc.set(vpcId, json);
  }

  /** A security group or ACL changed: the VPCs with running nodes get the new rules. */
  private async syncVpcs(rows: Row[]): Promise<void> {
    if (!(await this.deps.plane.ifOpen())) return;
    const vpcs = new Map(rows.filter((x) => this.deps.driver.status(x.row.NodeId) === 'running').map((x) => [x.row.VpcId, x.scope] as const));
    for (const [vpcId, scope] of vpcs) await this.applyVpc(scope, vpcId).catch((err) => this.deps.log(`rds: VPC ${vpcId}: ${err}`));
  }

  private async launch(scope: Scope, r: DbInstanceRecord): Promise<void> {
    try {
      const rootfs = await this.deps.imageRootfs(DB_IMAGE_NAME);
      const netns = await this.plug(scope, r);
      let volume: string | undefined;
      if (this.deps.volumes) {
        const id = volumeIdOf(r);
        if (!this.deps.volumes.exists(id)) await this.deps.volumes.create({ volumeId: id, sizeBytes: r.AllocatedStorage * GiB, format: 'root', imageRootfs: rootfs });
        volume = await this.deps.volumes.mountRoot(id);
      }
      await this.deps.driver.launch({
        id: r.NodeId,
        imageRootfs: rootfs,
        hostname: `ip-${r.PrivateIpAddress.replaceAll('.', '-')}`,
        nameservers: [],
        userData: engineSetup(r),
        defaultUser: 'rdsadmin',
        netns,
        resources: this.resources(r),
        volume,
      });
      this.launchedAt.set(r.NodeId, Date.now());
    } catch (err) {
      this.deps.log(`database ${r.DBInstanceIdentifier}: could not be created: ${(err as Error).message}`);
      this.settle(scope, r, ['creating'], { DBInstanceStatus: 'failed' });
    }
  }

  /** First boot: available once the setup printed its mark (users and database made). */
  private async awaitSetup(scope: Scope, r: DbInstanceRecord): Promise<void> {
    if (this.deps.driver.consoleOutput(r.NodeId).includes(READY_MARK)) {
      this.settle(scope, r, ['creating'], { DBInstanceStatus: 'available', InstanceCreateTime: this.deps.now().toISOString() });
      return;
    }
    const since = this.launchedAt.get(r.NodeId);
    if (since === undefined) this.launchedAt.set(r.NodeId, Date.now());
    else if (Date.now() - since > SETUP_DEADLINE_MS) {
      this.deps.log(`database ${r.DBInstanceIdentifier}: its engine setup did not finish; console:\n${this.deps.driver.consoleOutput(r.NodeId).slice(-2000)}`);
      this.settle(scope, r, ['creating'], { DBInstanceStatus: 'failed' });
    }
  }

  /** A node that is not running comes up again (after `kumo stop`, a crash, or a start). */
  private async boot(scope: Scope, r: DbInstanceRecord): Promise<void> {
    if (this.deps.volumes) await this.deps.volumes.mountRoot(volumeIdOf(r));
    const netns = await this.plug(scope, r);
    await this.deps.driver.start(r.NodeId, { netns, resources: this.resources(r) });
  }

  private async reboot(scope: Scope, r: DbInstanceRecord): Promise<void> {
    if (r.RebootRequested) {
      await this.deps.driver.stop(r.NodeId, STOP_DEADLINE_MS);
      await this.boot(scope, r);
      this.settle(scope, r, ['rebooting'], { RebootRequested: false });
      return;
    }
    await this.settleWhenAnswering(scope, r, 'rebooting');
  }

  private async settleWhenAnswering(scope: Scope, r: DbInstanceRecord, from: DbInstanceStatus): Promise<void> {
    if (await this.answers(r)) this.settle(scope, r, [from], { DBInstanceStatus: 'available' });
  }

  /** The engine accepts connections on its port, seen from inside the node's own namespace. */
  private answers(r: DbInstanceRecord): Promise<boolean> {
    const ns = netnsOf(r.NodeId);
    if (!ns) return Promise.resolve(false);
    const probe = `exec 3<>/dev/tcp/127.0.0.1/${r.Port}`;
    return new Promise((resolve) => execFile('ip', ['netns', 'exec', ns, 'timeout', '2', 'bash', '-c', probe], (err) => resolve(!err)));
  }

  private async stop(scope: Scope, r: DbInstanceRecord): Promise<void> {
    await this.deps.driver.stop(r.NodeId, STOP_DEADLINE_MS);
    await (await this.deps.plane.ifOpen())?.unplug(r.NodeId);
    if (this.deps.volumes) await this.deps.volumes.unmountRoot(volumeIdOf(r));
    this.settle(scope, r, ['stopping'], { DBInstanceStatus: 'stopped' });
  }

  private async remove(scope: Scope, r: DbInstanceRecord): Promise<void> {
    await this.deps.driver.terminate(r.NodeId, STOP_DEADLINE_MS);
    await (await this.deps.plane.ifOpen())?.unplug(r.NodeId);
    if (this.deps.volumes) await this.deps.volumes.remove(volumeIdOf(r));
    this.launchedAt.delete(r.NodeId);
    const { store, network, tags } = this.deps;
    store.transaction(() => {
      if (store.instances.get(scope, r.DBInstanceIdentifier)?.DBInstanceStatus !== 'deleting') return;
      network.addresses.releaseOwner(scope, r.NetworkInterfaceId);
      network.networkInterfaces.delete(scope, r.NetworkInterfaceId);
      if (r.PublicIpAddress) network.publicIps.release(r.PublicIpAddress);
      tags.removeAll(scope, r.DBInstanceArn);
      store.instances.delete(scope, r.DBInstanceIdentifier);
    });
  }

  /** Re-reads the row and applies `change` if it is still in one of `from`. */
  private settle(scope: Scope, r: DbInstanceRecord, from: DbInstanceStatus[], change: Partial<DbInstanceRecord>): void {
    const { store } = this.deps;
    store.transaction(() => {
      const fresh = store.instances.get(scope, r.DBInstanceIdentifier);
      if (!fresh || !from.includes(fresh.DBInstanceStatus)) return;
      store.instances.update(scope, r.DBInstanceIdentifier, { ...fresh, ...change });
    });
    this.wake();
  }

  /** kumo is leaving: nodes shut down cleanly, rows keep their status so the next start brings them back. */
  async close(): Promise<void> {
    clearTimeout(this.poll);
    await this.loop.close();
    for (const id of this.deps.driver.list()) {
      if (this.deps.driver.status(id) === 'running') await this.deps.driver.stop(id, STOP_DEADLINE_MS).catch((err) => this.deps.log(`database node ${id}: ${err}`));
    }
    if (this.deps.volumes) for (const { row } of this.deps.store.instances.everywhere()) await this.deps.volumes.unmountRoot(volumeIdOf(row)).catch(() => {});
  }

  /** After /_kumo/reset wiped the rows: every node and disk goes. */
  async reset(): Promise<void> {
    await this.loop.drain();
    for (const id of this.deps.driver.list()) await this.deps.driver.terminate(id, STOP_DEADLINE_MS).catch(() => {});
    if (this.deps.volumes) for (const id of this.deps.volumes.list()) await this.deps.volumes.remove(id).catch(() => {});
    this.launchedAt.clear();
    this.appliedVpc.clear();
  }
}

/** The node's disk, named after the instance's resource ID (in RDS's own volume store). */
export function volumeIdOf(r: DbInstanceRecord): string {
  return `vol-${createHash('sha256').update(r.DbiResourceId).digest('hex').slice(0, 17)}`;
}

/** The fabric's namespace for a port (it names them `…-<portId>`), if the port is plugged. */
function netnsOf(portId: string): string | undefined {
  try {
    return readdirSync('/run/netns').find((n) => n.endsWith(`-${portId}`));
  } catch {
    return undefined;
  }
}
