/**
 * The ELBv2 data-plane supervisor, on the shared reconcile loop (runtime/reconciler.ts): makes
 * the host match the load-balancer rows.
 *
 *   handlers write rows → wake() → plan(row): the step it asks for →
 *     up       every node plugged into the VPC fabric (a port owned by `elbv2` in its subnet,
 *              carrying the load balancer's security groups and, internet-facing, its public
 *              loopback address) and running HAProxy on the configuration the rows describe
 *              (desired.ts); `provisioning` → `active`
 *     retire   nodes of subnets taken away, or of a deleted load balancer: HAProxy stopped, port
 *              unplugged, interface and addresses released; a deleted row then goes
 *   afterPass: the VPC rules and node ports follow security group changes
 *   tick (1 s): due health checks (health.ts) through the first node; drained targets dropped;
 *              a pass, so that instance state and health changes reach the proxies
 *
 * After a kill -9, HAProxy processes kept running in their namespaces (the fabric slot is taken
 * over as it is): recover() adopts those whose node a row still wants, by their directory, and
 * ends the rest; the first pass plugs the adopted ones again (a no-op) so the fabric keeps them.
 * `kumo stop` ends every node (rows stay; the next start brings them up again); reset ends them
 * and forgets.
 */
import type { DataPlane, NetworkPlane } from '../../../runtime/data-plane.js';
import { which } from '../../../runtime/detect.js';
import type { PortSpec, VpcPolicy, VpcSpec } from '../../../runtime/network/types.js';
import { Reconciler } from '../../../runtime/reconciler.js';
import type { NetworkStore } from '../../../state/network.js';
import type { Scope } from '../../../state/scope.js';
import type { TagStore } from '../../../state/tags.js';
import { releaseNode } from '../nodes.js';
import type { Elbv2Store, LoadBalancerNode, LoadBalancerRecord } from '../store.js';
import { expired, type TargetDirectory } from '../target-health.js';
import { lbDirName, planLoadBalancer, type LoadBalancerPlan } from './desired.js';
import { classicGroup } from '../classic/group.js';
import { elbZone } from './dns.js';
import { HealthChecker, type CheckRequest } from './health.js';
import { applyNode, nodeDirs, removeNode, runningGeneration, masterOf, stopNode } from './haproxy.js';
import { join } from 'node:path';
import type { CertificateDirectory } from '../listener-certificates.js';

export const ELBV2_PORT_OWNER = 'elbv2';
const TICK_MS = 1_000;

export interface Elbv2Runtime {
  plane: DataPlane;
  /** `<data-dir>/elbv2`: one directory per node. */
  dir: string;
  /** A VPC's fabric spec and whole policy (EC2's rows, through the composition root). */
  vpc(scope: Scope, vpcId: string): { spec: VpcSpec; policy: VpcPolicy } | undefined;
}

export interface LoadBalancerSupervisorDeps {
  store: Elbv2Store;
  network: NetworkStore;
  tags: TagStore;
  directory: TargetDirectory;
  certificates?: CertificateDirectory;
  runtime?: Elbv2Runtime;
  log: (line: string) => void;
  now: () => Date;
}

type Row = { scope: Scope; lb: LoadBalancerRecord };

export class LoadBalancerSupervisor {
  private readonly loop: Reconciler<Row>;
  private readonly health: HealthChecker;
  /** Nodes running here: ENI → the generation their HAProxy runs. */
  private readonly running = new Map<string, string>();
  /** Nodes plugged into the fabric: ENI → the port spec applied. */
  private readonly plugged = new Map<string, string>();
  private readonly appliedVpc = new Map<string, string>();
  /** Health checks per load balancer, from the last plan that ran. */
  private readonly probes = new Map<string, LoadBalancerPlan['probes']>();
  private pruned: NetworkPlane | undefined;
  private timer: NodeJS.Timeout | undefined;
  private haproxy: boolean | undefined;

  constructor(private readonly deps: LoadBalancerSupervisorDeps) {
    // Results of one round of checks arrive together: one pass (one reload) for all of them.
    const groupOf = (scope: Scope, arn: string) => {
      const lb = deps.store.targetGroups.get(scope, arn) ? undefined : deps.store.loadBalancers.get(scope, arn);
      return lb?.Classic ? classicGroup(lb) : deps.store.targetGroups.get(scope, arn);
    };
    this.health = new HealthChecker(deps.store, groupOf, () => this.wakeSoon(), deps.log);
    this.loop = new Reconciler<Row>({
      name: 'load balancer',
      desired: () => deps.store.everywhere(),
      key: (r) => r.lb.LoadBalancerArn,
      plan: (r) => this.plan(r),
      afterPass: (rows, busy) => this.afterPass(rows, busy),
      recover: () => this.recover(),
      log: deps.log,
    });
    if (deps.runtime) {
      deps.runtime.plane.zones.register(elbZone(deps.store));
      deps.runtime.plane.registerPortOwner(ELBV2_PORT_OWNER);
      // A security group or ACL edit: the nodes' VPC rules are derived again (afterPass).
      deps.runtime.plane.onNetworkChange(() => this.wake());
    }
  }

  private get fabric(): boolean {
    return this.deps.runtime?.plane.hasFabric ?? false;
  }

  wake(): void {
    this.loop.wake();
  }

  private soon: NodeJS.Timeout | undefined;
  private wakeSoon(): void {
    this.soon ??= setTimeout(() => {
      this.soon = undefined;
      this.wake();
    }, 100);
  }

  async start(): Promise<void> {
    await this.loop.start();
    this.timer = setInterval(() => this.tick(), TICK_MS);
    this.timer.unref();
  }

  private tick(): void {
    this.dropDrained();
    // One call with every load balancer's checks: what it is not given, it forgets.
    const checks: CheckRequest[] = [];
    for (const { scope, lb } of this.deps.store.everywhere()) {
      const probes = this.probes.get(lb.LoadBalancerArn);
      const first = lb.Nodes[0];
      if (!probes || !first || !this.running.has(first.NetworkInterfaceId)) continue;
      const dir = this.nodeDir(lb, first);
      for (const p of probes) {
        checks.push({ scope, tg: p.tg, id: p.status.target.Id, port: p.status.target.Port, address: p.status.address!, healthPort: p.healthPort, socket: join(dir, p.socket) });
      }
    }
    this.health.run(checks);
    this.wake();
  }

  /** Targets whose deregistration delay is over leave their group's row. */
  private dropDrained(): void {
    const now = this.deps.now();
    const { store } = this.deps;
    for (const { scope, lb } of store.everywhere()) {
      for (const arn of store.targetGroupsOf(scope, lb.LoadBalancerArn)) {
        const tg = store.targetGroups.get(scope, arn);
        if (!tg?.Targets?.some((t) => expired(t, now))) continue;
        store.transaction(() => {
          const fresh = store.targetGroups.get(scope, arn)!;
          store.targetGroups.update(scope, arn, { ...fresh, Targets: (fresh.Targets ?? []).filter((t) => !expired(t, now)) });
        });
      }
    }
  }

  private nodeDir(lb: LoadBalancerRecord, node: LoadBalancerNode): string {
    return join(this.deps.runtime!.dir, lbDirName(lb), node.NetworkInterfaceId);
  }

  private plan({ scope, lb }: Row): (() => Promise<void>) | undefined {
    if (lb.State.Code === 'deleting' || lb.Retired?.length) return () => this.retire(scope, lb);
    if (!this.fabric) {
      return lb.State.Code === 'provisioning' ? async () => this.setState(scope, lb, { Code: 'active' }) : undefined;
    }
    this.haproxy ??= which('haproxy') !== undefined;
    if (!this.haproxy) {
      return lb.State.Code === 'provisioning'
        ? async () => this.setState(scope, lb, { Code: 'failed', Reason: 'HAProxy is not installed on this host (apt-get install haproxy)' })
        : undefined;
    }
    if (lb.State.Code === 'failed') return undefined;
    const plan = planLoadBalancer(this.deps.store, this.deps.network, this.deps.directory, this.deps.runtime!.dir, scope, lb, this.deps.now(), this.deps.certificates);
    const stale = plan.nodes.some((n) => this.running.get(n.eniId) !== n.generation || !this.plugged.has(n.eniId));
    this.forgetHealth(scope, plan.stale);
    if (!stale) {
      this.probes.set(lb.LoadBalancerArn, plan.probes);
      return lb.State.Code === 'provisioning' ? async () => this.setState(scope, lb, { Code: 'active' }) : undefined;
    }
    return () => this.up(scope, lb, plan);
  }

  private forgetHealth(scope: Scope, keys: string[]): void {
    for (const key of keys) if (this.deps.store.health.get(scope, key)) this.deps.store.health.delete(scope, key);
  }

  private async up(scope: Scope, lb: LoadBalancerRecord, plan: LoadBalancerPlan): Promise<void> {
    const runtime = this.deps.runtime!;
    const net = await runtime.plane.network();
    await this.applyVpc(net, scope, lb.VpcId);
    // Plugged together, the nodes are one batch in the fabric (wired side by side, each nft table
    // rewritten once); their HAProxy (re)loads then run side by side too.
    const namespaces = await Promise.all(
      lb.Nodes.map(async (node) => {
        const port = this.portOf(scope, lb, node);
        const { netns } = await net.plug(port);
        this.plugged.set(node.NetworkInterfaceId, JSON.stringify(port));
        return netns;
      }),
    );
    await Promise.all(
      lb.Nodes.map(async (node, i) => {
        const want = plan.nodes[i]!;
        const was = this.running.get(node.NetworkInterfaceId);
        if (was === want.generation) return;
        await applyNode(want.dir, namespaces[i]!, want.config, want.generation, want.files);
        this.running.set(node.NetworkInterfaceId, want.generation);
        this.deps.log(`load balancer ${lb.LoadBalancerName}: node ${node.NetworkInterfaceId} ${was ? 'reloaded' : 'started'} (configuration ${want.generation}${plan.servers ? `; ${plan.servers}` : ''})`);
      }),
    );
    this.probes.set(lb.LoadBalancerArn, plan.probes);
    if (lb.State.Code === 'provisioning') this.setState(scope, lb, { Code: 'active' });
  }

  /** Re-reads the row: its state changes only if nothing else changed it meanwhile. */
  private setState(scope: Scope, lb: LoadBalancerRecord, state: LoadBalancerRecord['State']): void {
    this.deps.store.transaction(() => {
      const fresh = this.deps.store.loadBalancers.get(scope, lb.LoadBalancerArn);
      if (fresh && fresh.State.Code === lb.State.Code) this.deps.store.loadBalancers.update(scope, lb.LoadBalancerArn, { ...fresh, State: state });
    });
  }

  private async retire(scope: Scope, lb: LoadBalancerRecord): Promise<void> {
    const nodes = lb.Retired ?? [];
    const net = this.fabric ? await this.deps.runtime!.plane.ifOpen() : undefined;
    // Side by side, so their unplugs are one batch in the fabric.
    await Promise.all(
      nodes.map(async (node) => {
        if (this.deps.runtime) await removeNode(this.nodeDir(lb, node));
        await net?.unplug(node.NetworkInterfaceId);
        this.running.delete(node.NetworkInterfaceId);
        this.plugged.delete(node.NetworkInterfaceId);
      }),
    );
    const { store, network, tags } = this.deps;
    store.transaction(() => {
      for (const node of nodes) releaseNode(network, tags, scope, node);
      const fresh = store.loadBalancers.get(scope, lb.LoadBalancerArn);
      if (!fresh) return;
      const left = (fresh.Retired ?? []).filter((r) => !nodes.some((n) => n.NetworkInterfaceId === r.NetworkInterfaceId));
      if (fresh.State.Code === 'deleting' && !fresh.Nodes.length && !left.length) store.loadBalancers.delete(scope, lb.LoadBalancerArn);
      else store.loadBalancers.update(scope, lb.LoadBalancerArn, { ...fresh, Retired: left });
    });
    if (lb.State.Code === 'deleting') this.probes.delete(lb.LoadBalancerArn);
  }

  private portOf(scope: Scope, lb: LoadBalancerRecord, node: LoadBalancerNode): PortSpec {
    const subnet = this.deps.network.subnets.get(scope, node.SubnetId);
    if (!subnet) throw new Error(`load balancer ${lb.LoadBalancerName}: subnet ${node.SubnetId} is gone`);
    return {
      portId: node.NetworkInterfaceId,
      owner: ELBV2_PORT_OWNER,
      vpcId: lb.VpcId,
      subnetCidr: subnet.CidrBlock,
      privateIp: node.PrivateIp,
      groups: [...lb.SecurityGroups],
      publicIps: node.PublicIp ? [node.PublicIp] : [],
    };
  }

  private async applyVpc(net: NetworkPlane, scope: Scope, vpcId: string): Promise<void> {
    const v = this.deps.runtime!.vpc(scope, vpcId);
    if (!v) throw new Error(`VPC ${vpcId} is gone`);
    const key = JSON.stringify(v);
    if (this.appliedVpc.get(vpcId) === key) return;
    await net.ensureVpc(v.spec, v.policy);
    this.appliedVpc.set(vpcId, key);
  }

  /** Security group edits reach the routers and the nodes' ports; after a takeover, the fabric prunes once every node is back. */
  private async afterPass(rows: Row[], busy: ReadonlySet<string>): Promise<void> {
    const net = this.fabric ? await this.deps.runtime!.plane.ifOpen() : undefined;
    if (!net) return;
    const live = rows.filter(({ lb }) => !busy.has(lb.LoadBalancerArn) && lb.State.Code !== 'deleting');
    const vpcs = new Map<string, Scope>();
    for (const { scope, lb } of live) if (lb.Nodes.some((n) => this.plugged.has(n.NetworkInterfaceId))) vpcs.set(lb.VpcId, scope);
    for (const [vpcId, scope] of vpcs) await this.applyVpc(net, scope, vpcId);
    for (const { scope, lb } of live) {
      for (const node of lb.Nodes) {
        const before = this.plugged.get(node.NetworkInterfaceId);
        if (before === undefined) continue;
        const port = this.portOf(scope, lb, node);
        if (JSON.stringify(port) === before) continue;
        await net.update(port);
        this.plugged.set(node.NetworkInterfaceId, JSON.stringify(port));
      }
    }
    const settled = busy.size === 0 && live.every(({ lb }) => lb.State.Code === 'failed' || lb.Nodes.every((n) => this.plugged.has(n.NetworkInterfaceId)));
    if (settled && this.pruned !== net) {
      this.pruned = net;
      await net.prune(ELBV2_PORT_OWNER);
    }
  }

  /** After a restart: HAProxy processes of nodes a row still wants are adopted; the others end. */
  private async recover(): Promise<void> {
    if (!this.deps.runtime || !this.fabric) return;
    const wanted = new Set(this.deps.store.everywhere().flatMap(({ lb }) => (lb.State.Code === 'deleting' ? [] : lb.Nodes.map((n) => n.NetworkInterfaceId))));
    let adopted = 0;
    for (const { eniId, dir } of nodeDirs(this.deps.runtime.dir)) {
      let master: number | undefined;
      try {
        master = masterOf(dir);
      } catch {
        master = undefined;
      }
      const generation = master !== undefined && wanted.has(eniId) ? await runningGeneration(dir) : undefined;
      if (generation) {
        this.running.set(eniId, generation);
        adopted++;
      } else if (wanted.has(eniId)) {
        await stopNode(dir);
      } else {
        await removeNode(dir);
      }
    }
    if (adopted) this.deps.log(`load balancers: ${adopted} node(s) still running, taken over as they are`);
  }

  /** kumo is stopping: every node ends and leaves the fabric; rows stay, so the next start brings them up again. */
  async close(): Promise<void> {
    if (this.timer) clearInterval(this.timer);
    if (this.soon) clearTimeout(this.soon);
    await this.loop.close();
    await this.endAll();
  }

  /** After /_kumo/reset wiped the rows: every node ends. */
  async reset(): Promise<void> {
    await this.loop.drain();
    await this.endAll();
    this.appliedVpc.clear();
    this.pruned = undefined;
  }

  private async endAll(): Promise<void> {
    if (this.deps.runtime && this.fabric) {
      const net = await this.deps.runtime.plane.ifOpen();
      for (const { eniId, dir } of nodeDirs(this.deps.runtime.dir)) {
        await removeNode(dir).catch((err: Error) => this.deps.log(`load balancer node ${eniId}: ${err.message}`));
        await net?.unplug(eniId).catch(() => {});
      }
    }
    this.running.clear();
    this.plugged.clear();
    this.appliedVpc.clear();
    this.probes.clear();
    this.health.forget();
  }
}

/** `kumo reset` of a data dir whose kumo is dead: its load-balancer processes end. */
export async function reclaimLoadBalancerNodes(dir: string): Promise<void> {
  for (const node of nodeDirs(dir)) await removeNode(node.dir).catch(() => {});
}
