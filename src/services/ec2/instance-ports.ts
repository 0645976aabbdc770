/**
 * The supervisor's network side: which instances are plugged into the VPC fabric, with which
 * port, under which VPC rules. Rules and ports are derived from the rows every time and applied
 * only when they differ from what was applied last, so a security group edit, an Elastic IP or a
 * metadata option change reaches running instances without anyone tracking what changed.
 */
import type { PortSpec, VpcPolicy, VpcSpec } from '../../runtime/network/types.js';
import type { Scope } from '../../state/scope.js';
import type { InstanceRecord } from './instance-store.js';
import { publicIpOf } from './instance-view.js';
import type { Ec2Store } from './store.js';
import { vpcPolicyOf, vpcSpecOf } from './vpc-policy.js';

/** What the supervisor needs of the VPC fabric (runtime/network). */
export interface NetworkPlane {
  ensureVpc(vpc: VpcSpec, policy: VpcPolicy): Promise<void>;
  setPolicy(vpcId: string, policy: VpcPolicy): Promise<void>;
  plug(port: PortSpec): Promise<{ netns: string; transitIp: string }>;
  update(port: PortSpec): Promise<void>;
  unplug(instanceId: string): Promise<void>;
  removeVpc(vpcId: string): Promise<void>;
  /** Drops what a crashed predecessor had wired and nobody claimed again. */
  prune(): Promise<void>;
  close(): Promise<void>;
}

export class InstancePorts {
  private readonly appliedVpc = new Map<string, string>();
  private readonly appliedPort = new Map<string, string>();
  private net: Promise<NetworkPlane> | undefined;
  private pruned: Promise<NetworkPlane> | undefined;

  /** `open` absent: instances get no network of their own (the process runtime). */
  constructor(
    private readonly store: Ec2Store,
    private readonly open?: () => Promise<NetworkPlane>,
  ) {}

  plugged(instanceId: string): boolean {
    return this.appliedPort.has(instanceId);
  }

  /** Wires the instance into its VPC; the namespace to run it in, or undefined without a fabric. */
  async plug(scope: Scope, i: InstanceRecord): Promise<string | undefined> {
    if (!this.open) return undefined;
    const net = await this.network();
    const spec = vpcSpecOf(this.store.network, scope, i.VpcId);
    const port = this.portOf(scope, i);
    if (!spec || !port) throw new Error(`instance ${i.InstanceId}: its VPC or network interface is gone`);
    // Instances launched together share their VPC's rules: apply them once, not once each.
    await this.applyVpc(net, spec, vpcPolicyOf(this.store.network, scope, i.VpcId));
    const { netns } = await net.plug(port);
    this.appliedPort.set(i.InstanceId, JSON.stringify(port));
    return netns;
  }

  async unplug(instanceId: string): Promise<void> {
    if (!this.net) return;
    await (await this.net).unplug(instanceId);
    this.appliedPort.delete(instanceId);
  }

  /** Re-applies VPC rules and ports whose inputs changed; `all` leaves out instances mid-step. */
  async sync(all: { scope: Scope; instance: InstanceRecord }[]): Promise<void> {
    if (!this.net) return;
    const net = await this.net;
    const vpcs = new Map<string, Scope>();
    for (const { scope, instance } of all) if (this.appliedPort.has(instance.InstanceId)) vpcs.set(instance.VpcId, scope);
    for (const [vpcId, scope] of vpcs) {
      const spec = vpcSpecOf(this.store.network, scope, vpcId);
      if (spec) await this.applyVpc(net, spec, vpcPolicyOf(this.store.network, scope, vpcId));
    }
    for (const { scope, instance } of all) {
      const before = this.appliedPort.get(instance.InstanceId);
      if (before === undefined) continue;
      const port = this.portOf(scope, instance);
      if (!port || JSON.stringify(port) === before) continue;
      await net.update(port);
      this.appliedPort.set(instance.InstanceId, JSON.stringify(port));
    }
  }

  /** Once per opened network, when every instance that should run is plugged (a takeover left the rest). */
  async prune(): Promise<void> {
    if (!this.net || this.pruned === this.net) return;
    this.pruned = this.net;
    await (await this.net).prune();
  }

  /** Tears the fabric down (nothing of it stays on the host); the next plug opens it again. */
  async close(): Promise<void> {
    this.appliedPort.clear();
    this.appliedVpc.clear();
    const net = this.net;
    this.net = undefined;
    if (net) await (await net).close();
  }

  private network(): Promise<NetworkPlane> {
    this.net ??= this.open!();
    return this.net;
  }

  private async applyVpc(net: NetworkPlane, spec: VpcSpec, policy: VpcPolicy): Promise<void> {
    const key = JSON.stringify([spec, policy]);
    if (this.appliedVpc.get(spec.vpcId) === key) return;
    await net.ensureVpc(spec, policy);
    this.appliedVpc.set(spec.vpcId, key);
  }

  private portOf(scope: Scope, i: InstanceRecord): PortSpec | undefined {
    const n = this.store.network;
    const subnet = n.subnets.get(scope, i.SubnetId);
    const eni = n.networkInterfaces.get(scope, i.NetworkInterfaceId);
    if (!subnet || !eni) return undefined;
    const pub = publicIpOf(this.store, scope, i);
    return {
      instanceId: i.InstanceId,
      vpcId: i.VpcId,
      subnetCidr: subnet.CidrBlock,
      privateIp: i.PrivateIpAddress,
      groups: eni.GroupIds,
      publicIps: pub ? [pub.ip] : [],
      imdsHopLimit: i.MetadataOptions.HttpPutResponseHopLimit,
    };
  }
}
