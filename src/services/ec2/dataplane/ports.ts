/**
 * The supervisor's network side: which instances are plugged into the shared VPC data plane
 * (runtime/data-plane.ts) as EC2's ports, under which VPC rules. Rules and ports are derived from
 * the rows every time and applied only when they differ from what was applied last, so a security
 * group edit, an Elastic IP or a metadata option change reaches running instances without anyone
 * tracking what changed.
 */
import type { DataPlane, NetworkPlane } from '../../../runtime/data-plane.js';
import type { PortSpec, VpcPolicy, VpcSpec } from '../../../runtime/network/types.js';
import type { Scope } from '../../../state/scope.js';
import type { InstanceRecord } from '../instances/store.js';
import { publicIpOf } from '../instances/view.js';
import type { Ec2Store } from '../store.js';
import { vpcPolicyOf, vpcSpecOf } from '../../../state/vpc-policy.js';
import { EC2_PORT_OWNER } from './vpc-services.js';

export class InstancePorts {
  private readonly appliedVpc = new Map<string, string>();
  private readonly appliedPort = new Map<string, string>();
  private pruned: NetworkPlane | undefined;

  /** Without a fabric (the process runtime) instances get no network of their own. */
  constructor(
    private readonly store: Ec2Store,
    private readonly plane: DataPlane,
    private readonly log: (line: string) => void,
  ) {
    plane.registerPortOwner(EC2_PORT_OWNER);
  }

  plugged(instanceId: string): boolean {
    return this.appliedPort.has(instanceId);
  }

  /** Wires the instance into its VPC; the namespace to run it in, or undefined without a fabric. */
  async plug(scope: Scope, i: InstanceRecord): Promise<string | undefined> {
    if (!this.plane.hasFabric) return undefined;
    const net = await this.plane.network();
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
    const net = await this.plane.ifOpen();
    if (!net) return;
    await net.unplug(instanceId);
    this.appliedPort.delete(instanceId);
  }

  /** Re-applies VPC rules and ports whose inputs changed; `all` leaves out instances mid-step. */
  async sync(all: { scope: Scope; instance: InstanceRecord }[]): Promise<void> {
    const net = await this.plane.ifOpen();
    if (!net) return;
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
    const net = await this.plane.ifOpen();
    if (!net || this.pruned === net) return;
    this.pruned = net;
    const gone = await net.prune(EC2_PORT_OWNER);
    if (gone.length) this.log(`VPC data plane: removed ${gone.length} namespace(s) nothing claims`);
  }

  /** The data plane is going or was reset: nothing applied stays applied. */
  forget(): void {
    this.appliedPort.clear();
    this.appliedVpc.clear();
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
      portId: i.InstanceId,
      owner: EC2_PORT_OWNER,
      vpcId: i.VpcId,
      subnetCidr: subnet.CidrBlock,
      privateIp: i.PrivateIpAddress,
      groups: eni.GroupIds,
      publicIps: pub ? [pub.ip] : [],
      imdsHopLimit: i.MetadataOptions.HttpPutResponseHopLimit,
    };
  }
}
