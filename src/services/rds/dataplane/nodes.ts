/**
 * The nodes of DB instances on the host: containers of the database image on fabric ports, their
 * disks in RDS's own volume store (`<data-dir>/db-volumes`), the VPC rules their ports need, and
 * the few things kumo does inside them (through the driver's runInside, secrets on stdin).
 *
 * The primary's port carries the instance's security groups and its internal group (the primary
 * and standby reach each other whatever those say), and the public (loopback) address of a
 * publicly accessible instance; a standby's carries the internal group only.
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync } from 'node:fs';
import type { DataPlane } from '../../../runtime/data-plane.js';
import type { InstanceDriver, InstanceStatus } from '../../../runtime/instances/driver.js';
import { inNetns } from '../../../runtime/network/exec.js';
import type { PortSpec } from '../../../runtime/network/types.js';
import { GiB, type VolumeStore } from '../../../runtime/volumes.js';
import type { NetworkStore } from '../../../state/network.js';
import type { Scope } from '../../../state/scope.js';
import { vpcPolicyOf, vpcSpecOf } from '../../../state/vpc-policy.js';
import { DB_CLASSES } from '../instances/engines.js';
import type { DbInstanceRecord, DbNode } from '../store.js';

export const RDS_PORT_OWNER = 'rds';
export const DB_IMAGE_NAME = 'kumo-db-12';
const STOP_DEADLINE_MS = 30_000;

export interface DbNodesDeps {
  network: NetworkStore;
  plane: DataPlane;
  driver: InstanceDriver;
  volumes?: VolumeStore;
  imageRootfs: (name: string) => Promise<string>;
  log: (line: string) => void;
}

const sqlString = (s: string) => `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
const pgString = (s: string) => `'${s.replace(/'/g, "''")}'`;

export class DbNodes {
  /** What was last applied of each VPC that has nodes (its spec and rules, as JSON). */
  private readonly appliedVpc = new Map<string, string>();
  /** Nodes this process has plugged (after a restart, running nodes are plugged again before the fabric prunes). */
  private readonly plugged = new Set<string>();
  private pruned: unknown;

  constructor(private readonly deps: DbNodesDeps) {
    deps.plane.registerPortOwner(RDS_PORT_OWNER);
  }

  isPlugged(node: DbNode): boolean {
    return this.plugged.has(node.NodeId);
  }

  /** A running node adopted after a restart: its port claimed again, as it is. */
  async replug(scope: Scope, r: DbInstanceRecord, node: DbNode): Promise<void> {
    await this.plug(scope, r, node);
  }

  /**
   * Once every running node is plugged again after a takeover: the fabric may drop what nobody
   * claims (it waits for every owner of ports to say so).
   */
  async prune(rows: DbInstanceRecord[]): Promise<void> {
    const net = await this.deps.plane.ifOpen();
    if (!net || this.pruned === net) return;
    const running = rows.flatMap((r) => (r.Standby ? [r, r.Standby] : [r])).filter((n) => this.deps.driver.status(n.NodeId) === 'running');
    if (running.some((n) => !this.plugged.has(n.NodeId))) return;
    this.pruned = net;
    const gone = await net.prune(RDS_PORT_OWNER);
    if (gone.length) this.deps.log(`VPC data plane: removed ${gone.length} namespace(s) nothing claims`);
  }

  status(r: DbInstanceRecord, node: DbNode = r): InstanceStatus {
    return this.deps.driver.status(node.NodeId);
  }

  console(node: DbNode): string {
    return this.deps.driver.consoleOutput(node.NodeId);
  }

  printed(node: DbNode, mark: string): boolean {
    return this.console(node).includes(mark);
  }

  /** A new node: its disk, its port, the container booting with `userData` as its first boot. */
  async launch(scope: Scope, r: DbInstanceRecord, node: DbNode, userData: string): Promise<void> {
    const rootfs = await this.deps.imageRootfs(DB_IMAGE_NAME);
    const netns = await this.plug(scope, r, node);
    let volume: string | undefined;
    if (this.deps.volumes) {
      const id = volumeIdOf(node);
      if (!this.deps.volumes.exists(id)) await this.deps.volumes.create({ volumeId: id, sizeBytes: r.AllocatedStorage * GiB, format: 'root', imageRootfs: rootfs });
      volume = await this.deps.volumes.mountRoot(id);
    }
    await this.deps.driver.launch({
      id: node.NodeId,
      imageRootfs: rootfs,
      hostname: `ip-${node.PrivateIpAddress.replaceAll('.', '-')}`,
      nameservers: [],
      userData,
      defaultUser: 'rdsadmin',
      netns,
      resources: resourcesOf(r),
      volume,
    });
  }

  /** A node that exists but does not run comes up again. */
  async boot(scope: Scope, r: DbInstanceRecord, node: DbNode): Promise<void> {
    if (this.deps.volumes) await this.deps.volumes.mountRoot(volumeIdOf(node));
    const netns = await this.plug(scope, r, node);
    await this.deps.driver.start(node.NodeId, { netns, resources: resourcesOf(r) });
  }

  async restart(scope: Scope, r: DbInstanceRecord, node: DbNode): Promise<void> {
    await this.deps.driver.stop(node.NodeId, STOP_DEADLINE_MS);
    await this.boot(scope, r, node);
  }

  async stop(node: DbNode): Promise<void> {
    await this.deps.driver.stop(node.NodeId, STOP_DEADLINE_MS);
    await this.unplug(node);
    if (this.deps.volumes) await this.deps.volumes.unmountRoot(volumeIdOf(node));
  }

  /**
   * A failing primary is cut off at once, before its standby takes over: no write may land there
   * after. Killed (no clean shutdown: its disk goes after the failover, and every write it
   * acknowledged the synchronous standby has too), then unplugged: its clients' connections close
   * as its processes die, so they fail at once and reconnect by the endpoint name. (Unplugged
   * first, a client in the middle of a write would hear nothing more and wait for its own timeout.)
   */
  async stopQuickly(node: DbNode): Promise<void> {
    await this.deps.driver.stop(node.NodeId, 0);
    await this.unplug(node);
  }

  /** The node, its port and its disk go (its address and interface are the row's to release). */
  async remove(node: DbNode): Promise<void> {
    await this.deps.driver.terminate(node.NodeId, STOP_DEADLINE_MS);
    await this.unplug(node);
    if (this.deps.volumes) await this.deps.volumes.remove(volumeIdOf(node));
  }

  async grow(node: DbNode, sizeGiB: number): Promise<void> {
    if (this.deps.volumes?.exists(volumeIdOf(node))) await this.deps.volumes.grow(volumeIdOf(node), sizeGiB * GiB);
  }

  /** Runs `script` as root inside `node` (the primary by default), `input` on its stdin. */
  async run(r: DbInstanceRecord, script: string, input = '', node: DbNode = r): Promise<string> {
    if (!this.deps.driver.runInside) throw new Error('this runtime cannot act inside a node');
    return this.deps.driver.runInside(node.NodeId, script, input);
  }

  /** The master user's new password, as the engine takes it. */
  passwordChange(r: DbInstanceRecord, password: string): [string, string] {
    return r.Engine === 'mysql'
      ? ['mariadb --protocol=socket', `ALTER USER ${sqlString(r.MasterUsername)}@'%' IDENTIFIED BY ${sqlString(password)};\n`]
      : ['runuser -u postgres -- psql -q -v ON_ERROR_STOP=1', `ALTER ROLE "${r.MasterUsername}" PASSWORD ${pgString(password)};\n`];
  }

  /** The engine accepts connections on its port, seen from inside the node's own namespace. */
  answers(r: DbInstanceRecord, node: DbNode): Promise<boolean> {
    const ns = netnsOf(node.NodeId);
    if (!ns) return Promise.resolve(false);
    return new Promise((resolve) => execFile(...inNetns(ns, ['timeout', '2', 'bash', '--norc', '-c', `exec 3<>/dev/tcp/127.0.0.1/${r.Port}`]), (err) => resolve(!err)));
  }

  /** After a failover: the clients' groups and the public address leave the old primary's port for the new one's. */
  async takeOver(scope: Scope, r: DbInstanceRecord, old: DbNode): Promise<void> {
    const net = await this.deps.plane.ifOpen();
    if (!net) return;
    await this.unplug(old);
    await net.update(this.portOf(scope, r, r));
  }

  /** A security group or ACL changed: the VPCs with running nodes get the new rules. */
  async syncVpcs(rows: { scope: Scope; row: DbInstanceRecord }[]): Promise<void> {
    if (!(await this.deps.plane.ifOpen())) return;
    const vpcs = new Map(rows.filter((x) => this.status(x.row) === 'running').map((x) => [x.row.VpcId, x.scope] as const));
    for (const [vpcId, scope] of vpcs) await this.applyVpc(scope, vpcId).catch((err) => this.deps.log(`rds: VPC ${vpcId}: ${err}`));
  }

  async stopAll(rows: DbInstanceRecord[]): Promise<void> {
    for (const id of this.deps.driver.list()) {
      if (this.deps.driver.status(id) === 'running') await this.deps.driver.stop(id, STOP_DEADLINE_MS).catch((err) => this.deps.log(`database node ${id}: ${err}`));
    }
    for (const r of rows) for (const node of [r, r.Standby]) if (node && this.deps.volumes) await this.deps.volumes.unmountRoot(volumeIdOf(node)).catch(() => {});
  }

  async removeAll(): Promise<void> {
    for (const id of this.deps.driver.list()) await this.deps.driver.terminate(id, STOP_DEADLINE_MS).catch(() => {});
    for (const id of this.deps.volumes?.list() ?? []) await this.deps.volumes!.remove(id).catch(() => {});
    this.appliedVpc.clear();
    this.plugged.clear();
  }

  private portOf(scope: Scope, r: DbInstanceRecord, node: DbNode): PortSpec {
    const subnet = this.deps.network.subnets.get(scope, node.SubnetId);
    if (!subnet) throw new Error(`subnet ${node.SubnetId} is gone`);
    const primary = node.NodeId === r.NodeId;
    return {
      portId: node.NodeId,
      owner: RDS_PORT_OWNER,
      vpcId: r.VpcId,
      subnetCidr: subnet.CidrBlock,
      privateIp: node.PrivateIpAddress,
      // Clients reach the primary only, as on RDS: a standby (and a new one being built where a
      // failed primary was, at its address) admits its primary alone, so a client still holding
      // the old address gets no answer rather than a database that is not the instance's.
      groups: [...(primary ? r.VpcSecurityGroupIds : []), ...(r.InternalGroup ? [r.InternalGroup] : [])],
      publicIps: primary && r.PublicIpAddress ? [r.PublicIpAddress] : [],
    };
  }

  private async plug(scope: Scope, r: DbInstanceRecord, node: DbNode): Promise<string> {
    await this.applyVpc(scope, r.VpcId);
    const { netns } = await (await this.deps.plane.network()).plug(this.portOf(scope, r, node));
    this.plugged.add(node.NodeId);
    return netns;
  }

  private async unplug(node: DbNode): Promise<void> {
    await (await this.deps.plane.ifOpen())?.unplug(node.NodeId);
    this.plugged.delete(node.NodeId);
  }

  /** The VPC's routing and rules as its rows say now (applied only when they changed). */
  private async applyVpc(scope: Scope, vpcId: string): Promise<void> {
    const spec = vpcSpecOf(this.deps.network, scope, vpcId);
    if (!spec) throw new Error(`VPC ${vpcId} is gone`);
    const policy = vpcPolicyOf(this.deps.network, scope, vpcId);
    const json = JSON.stringify([spec, policy]);
    if (this.appliedVpc.get(vpcId) === json) return;
    await (await this.deps.plane.network()).ensureVpc(spec, policy);
    this.appliedVpc.set(vpcId, json);
  }
}

function resourcesOf(r: DbInstanceRecord) {
  const c = DB_CLASSES[r.DBInstanceClass]!;
  return { memoryBytes: c.memoryMiB * 2 ** 20, vcpus: c.vcpus };
}

/** A node's disk, named after the node (in RDS's own volume store). */
export function volumeIdOf(node: DbNode): string {
  return `vol-${createHash('sha256').update(node.NodeId).digest('hex').slice(0, 17)}`;
}

/** The fabric's namespace for a port (it names them `…-<portId>`), if the port is plugged. */
function netnsOf(portId: string): string | undefined {
  try {
    return readdirSync('/run/netns').find((n) => n.endsWith(`-${portId}`));
  } catch {
    return undefined;
  }
}
