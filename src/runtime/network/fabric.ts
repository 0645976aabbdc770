/**
 * The VPC data plane on one host, driven by the EC2 control plane. A Fabric holds a host-wide
 * slot (slots.ts) and, within it, one router namespace per VPC (router.ts) whose nft table
 * (rules.ts) enforces NACLs and security groups between instances, each in its own namespace.
 * The host side (host-side.ts) carries the service address where kumo's IMDS and DNS servers
 * listen and maps public loopback IPs to instances. Nothing is routed beyond the host, unless
 * opened with `internet` (kumo start --internet): then instances with a public IP in a subnet
 * routed to an internet gateway reach the host's networks through NAT (rules.ts, host-side.ts),
 * with the host's ip_forward on while the fabric is open.
 *
 * State lives in memory and, after every change, in a file next to the slot lock
 * (fabric-state.ts). After a crash, open({ owner }) by the same owner takes the slot over as it
 * is: routers, veths, addresses and rules stay in place and in effect, so instances that outlived
 * kumo keep serving throughout; the control plane then plugs its instances again (a no-op for
 * those already wired) and prune() removes what it no longer claims. A stale slot of another
 * owner is removed by name (open, cleanupStale). Calls are serialized, since each one rewrites
 * whole nft tables from the current state; plugs and unplugs that arrive while one runs are
 * done together as a batch: their namespaces wired (or removed) at once, then each touched VPC's
 * table and the host table rewritten once for all of them (20 instances launched together cost
 * about one plug's rewrites, not twenty).
 */
import { Batches, type Waiting } from '../../lib/batches.js';
import { intToIp, parseCidr4 } from '../../lib/cidr.js';
import { netnsExists } from '../instances/host.js';
import { ip, nft, quietly } from './exec.js';
import { loadFabricState, removeFabricState, saveFabricState, type FabricState } from './fabric-state.js';
import { checkPort } from './port-check.js';
import { applyHostTable, enableForwarding, ensureDummy, listFootprint, removeFootprint } from './host-side.js';
import {
  MAX_VPCS, ROUTER_TABLE, TRANSIT_END, TRANSIT_FIRST, hostVeth, hostVethOfRouter, portNs, isRouterNs, isUsableTransit, peerName, routerNs,
  serviceAddress, transitAddress, uplinkAddresses,
} from './names.js';
import { createRouter, removeRouter, setDefaultRoute, setLoopbackAddresses, unwirePort, wirePort } from './router.js';
import { renderRouter } from './rules.js';
import { claimSlot, heldSlots, isReclaimable, isStale, ownerOf, releaseSlot, withMutex } from './slots.js';
import type { PortSpec, VpcPolicy, VpcSpec } from './types.js';

export type { AclRule, PortSpec, SgRule, SubnetSpec, VpcPolicy, VpcSpec } from './types.js';

interface Vpc {
  spec: VpcSpec;
  policy: VpcPolicy;
  ns: string;
  hostIf: string;
  index: number;
  uplink: { host: string; router: string };
  /** Whether its default route (to the host) is in place; unknown for a router taken over. */
  defaultRoute?: boolean;
}

interface Port {
  spec: PortSpec;
  ns: string;
  transitIndex: number;
  transitIp: string;
}

type Plugged = { netns: string; netnsPath: string; transitIp: string };

export class Fabric {
  readonly serviceAddress: string;
  private readonly vpcs = new Map<string, Vpc>();
  private readonly ports = new Map<string, Port>();
  private readonly byTransit = new Map<string, string>();
  /** Taken over from a crashed holder and not yet claimed again by ensureVpc/plug (prune removes them). */
  private readonly unclaimed = new Set<string>();
  private queue: Promise<unknown> = Promise.resolve();
  private closed = false;
  private restoreForwarding: (() => void) | undefined;
  private readonly plugs = new Batches<PortSpec, Plugged>((turn) => this.serial(turn), (batch) => this.plugBatch(batch));
  private readonly unplugs = new Batches<string, void>((turn) => this.serial(turn), (batch) => this.unplugBatch(batch));

  private constructor(readonly slot: number, private readonly log: (l: string) => void, readonly internet: boolean) {
    this.serviceAddress = serviceAddress(slot);
  }

  /**
   * Takes a slot (cleaning a dead holder's leftovers first) and sets up the host side.
   * With `owner` (kumo's data dir, say), a stale slot of the same owner is taken back in
   * preference, as it is: instances that kept running while kumo was down keep their network.
   * The owner plugs them again (a no-op for what is in place); `prune()` then removes the rest.
   */
  static async open(opts: { log?: (l: string) => void; owner?: string; internet?: boolean } = {}): Promise<Fabric> {
    const log = opts.log ?? (() => {});
    const { slot, adopted } = await claimSlot(
      async (n) => {
        log(`fabric: slot ${n} was held by a dead process, removing its leftovers`);
        await removeFootprint(n);
        removeFabricState(n);
      },
      opts.owner,
      async (n) => log(`fabric: taking back slot ${n} of ${opts.owner} as it is`),
    );
    const f = new Fabric(slot, log, opts.internet === true);
    try {
      if (f.internet) f.restoreForwarding = enableForwarding(log);
      const saved = adopted ? loadFabricState(slot) : undefined;
      if (saved) f.restore(saved);
      // A holder that died before writing its lock file or its state: start from nothing.
      else await removeFootprint(slot, { keepInstances: adopted });
      await ensureDummy(slot, f.serviceAddress);
      await f.applyHost();
    } catch (err) {
      await removeFootprint(slot);
      removeFabricState(slot);
      releaseSlot(slot);
      f.restoreForwarding?.();
      throw err;
    }
    log(`fabric: slot ${slot}, service address ${f.serviceAddress}${f.internet ? ', internet through NAT (--internet)' : ''}`);
    return f;
  }

  /** Takes over a crashed holder's VPCs and ports whose namespaces are still there. */
  private restore(saved: FabricState): void {
    for (const { spec, policy, index } of saved.vpcs) {
      const ns = routerNs(this.slot, spec.vpcId);
      if (!netnsExists(ns)) continue;
      this.vpcs.set(spec.vpcId, { spec, policy, index, ns, hostIf: hostVeth(this.slot, spec.vpcId), uplink: uplinkAddresses(this.slot, index) });
      this.unclaimed.add(spec.vpcId);
    }
    for (const { spec, transitIndex } of saved.ports) {
      const ns = portNs(this.slot, spec.portId);
      if (!this.vpcs.has(spec.vpcId) || !netnsExists(ns)) continue;
      const transitIp = transitAddress(this.slot, transitIndex);
      this.ports.set(spec.portId, { spec, ns, transitIndex, transitIp });
      this.byTransit.set(transitIp, spec.portId);
      this.unclaimed.add(spec.portId);
    }
    this.log(`fabric: took over ${this.vpcs.size} VPC router(s) and ${this.ports.size} instance port(s) in place`);
  }

  /** Removes the footprint of every slot not held by a live process, but for those kept for their owner (slots.ts). */
  static async cleanupStale(): Promise<void> {
    await withMutex(async () => {
      const held = new Set(heldSlots());
      for (const n of held) {
        if (!isReclaimable(n)) continue;
        await removeFootprint(n);
        removeFabricState(n);
        releaseSlot(n);
        held.delete(n);
      }
      // Names of slots without any lock file: a holder that died while releasing.
      const orphans = await listFootprint((s) => !held.has(s));
      for (const n of orphans.slots) await removeFootprint(n);
    });
  }

  /** Removes a stale slot kept for `owner` (its kumo died), with everything in it: the owner's state is being wiped. */
  static async releaseOwner(owner: string): Promise<void> {
    await withMutex(async () => {
      for (const n of heldSlots()) {
        if (ownerOf(n) !== owner || !isStale(n)) continue;
        await removeFootprint(n);
        removeFabricState(n);
        releaseSlot(n);
      }
    });
  }

  /**
   * For leak checks (tests, `kumo stop`): names of namespaces, links and nft tables, and the lock
   * file, that belong to `slot`, or to any slot when omitted.
   */
  static async leftovers(slot?: number): Promise<string[]> {
    const f = await listFootprint((s) => slot === undefined || s === slot);
    const locks = (slot === undefined ? heldSlots() : heldSlots().filter((n) => n === slot)).map((n) => `lock: slot-${n}`);
    return [...f.netns.map((n) => `netns: ${n}`), ...f.links.map((n) => `link: ${n}`), ...f.tables.map((n) => `nft table: ip ${n}`), ...locks];
  }

  /** One call at a time; what it left in memory is saved for a successor (fabric-state.ts). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const next = this.queue.then(async () => {
      if (this.closed) throw new Error('fabric is closed');
      try {
        return await fn();
      } finally {
        if (!this.closed) this.persist();
      }
    });
    this.queue = next.catch(() => undefined);
    return next;
  }

  ensureVpc(vpc: VpcSpec, policy: VpcPolicy): Promise<void> {
    return this.serial(async () => {
      this.unclaimed.delete(vpc.vpcId);
      for (const c of [...vpc.cidrs, ...vpc.subnets.map((s) => s.cidr)]) {
        if (!parseCidr4(c)) throw new Error(`fabric: bad CIDR ${c} in ${vpc.vpcId}`);
      }
      let v = this.vpcs.get(vpc.vpcId);
      this.check(vpc.vpcId, { spec: vpc, policy });
      if (!v) {
        const used = new Set([...this.vpcs.values()].map((x) => x.index));
        let index = 1;
        while (used.has(index)) index++;
        if (index > MAX_VPCS) throw new Error(`fabric: more than ${MAX_VPCS} VPCs in one slot`);
        v = {
          spec: vpc, policy, index,
          ns: routerNs(this.slot, vpc.vpcId),
          hostIf: hostVeth(this.slot, vpc.vpcId),
          uplink: uplinkAddresses(this.slot, index),
        };
        try {
          await createRouter(v.ns, v.hostIf, v.uplink, this.serviceAddress);
        } catch (err) {
          await removeRouter(v.ns, v.hostIf);
          throw err;
        }
        this.vpcs.set(vpc.vpcId, v);
        this.log(`fabric: VPC ${vpc.vpcId} router ${v.ns}`);
        v.defaultRoute = false;
      }
      v.spec = vpc;
      v.policy = policy;
      if (v.defaultRoute !== this.internet) {
        await setDefaultRoute(v.ns, v.uplink, this.internet);
        v.defaultRoute = this.internet;
      }
      await setLoopbackAddresses(v.ns, this.routerAddresses(vpc));
      await this.applyRouter(v);
    });
  }

  setPolicy(vpcId: string, policy: VpcPolicy): Promise<void> {
    return this.serial(async () => {
      const v = this.vpc(vpcId);
      this.check(vpcId, { policy });
      v.policy = policy;
      await this.applyRouter(v);
    });
  }

  plug(port: PortSpec): Promise<Plugged> {
    return this.plugs.call(port);
  }

  update(port: PortSpec): Promise<void> {
    return this.serial(() => this.updateLocked(port));
  }

  unplug(portId: string): Promise<void> {
    return this.unplugs.call(portId);
  }

  /**
   * Once the owner has plugged again whatever it still wants after a takeover: removes the ports
   * and VPCs it did not claim, and namespaces of this slot that nothing describes (a holder that
   * died mid-change). Returns the names of the namespaces removed.
   */
  prune(): Promise<string[]> {
    return this.serial(async () => {
      const touched = new Set<Vpc>();
      const removed: string[] = [];
      for (const id of this.unclaimed) {
        const p = this.ports.get(id);
        if (!p) continue;
        removed.push(p.ns);
        this.ports.delete(id);
        this.byTransit.delete(p.transitIp);
        await quietly(ip(undefined, 'route', 'del', `${p.transitIp}/32`));
        const v = this.vpcs.get(p.spec.vpcId);
        if (v) {
          await unwirePort(v.ns, p.ns, id);
          touched.add(v);
        }
      }
      for (const id of this.unclaimed) {
        if (!this.vpcs.has(id) || this.portsOf(id).length > 0) continue;
        removed.push(this.vpcs.get(id)!.ns);
        await this.removeVpcLocked(id);
      }
      this.unclaimed.clear();
      for (const v of touched) if (this.vpcs.has(v.spec.vpcId)) await this.applyRouter(v);
      await this.applyHost();
      const known = new Set([...[...this.ports.values()].map((p) => p.ns), ...[...this.vpcs.values()].map((v) => v.ns)]);
      const { netns } = await listFootprint((s) => s === this.slot);
      const gone = netns.filter((n) => !known.has(n));
      for (const n of gone) {
        if (isRouterNs(n)) await removeRouter(n, hostVethOfRouter(n));
        else await quietly(ip(undefined, 'netns', 'delete', n));
      }
      return [...removed, ...gone];
    });
  }

  /** The port behind a transit address, as host-side servers see it (plain or '::ffff:' form). */
  portAt(remoteAddress: string): { portId: string; owner: string; vpcId: string } | undefined {
    const id = this.byTransit.get(remoteAddress.replace(/^::ffff:/i, ''));
    const p = id === undefined ? undefined : this.ports.get(id);
    return p && { portId: id!, owner: p.spec.owner, vpcId: p.spec.vpcId };
  }

  /** Also unplugs the VPC's remaining instances. */
  removeVpc(vpcId: string): Promise<void> {
    return this.serial(() => this.removeVpcLocked(vpcId));
  }

  /** Tears down everything of this slot and releases it; the Fabric is unusable afterwards. */
  close(): Promise<void> {
    return this.serial(async () => {
      for (const id of [...this.vpcs.keys()]) {
        // Best effort: whatever fails here is removed by name just below.
        await this.removeVpcLocked(id).catch((err: Error) => this.log(`fabric: removing ${id}: ${err.message}`));
      }
      this.vpcs.clear();
      this.ports.clear();
      this.byTransit.clear();
      await removeFootprint(this.slot);
      const left = await listFootprint((s) => s === this.slot);
      this.closed = true;
      removeFabricState(this.slot);
      releaseSlot(this.slot);
      this.restoreForwarding?.();
      const names = [...left.netns, ...left.links, ...left.tables];
      if (names.length) throw new Error(`fabric: slot ${this.slot} left ${names.join(', ')}`);
    });
  }

  // ---- internals (called inside serial) ----

  private async plugBatch(batch: Waiting<PortSpec, Plugged>[]): Promise<void> {
    const fresh: { w: Waiting<PortSpec, Plugged>; p: Port; v: Vpc; adopted: boolean }[] = [];
    for (const w of batch) {
      const port = w.arg;
      const existing = this.ports.get(port.portId);
      this.unclaimed.delete(port.portId);
      try {
        if (existing) {
          await this.updateLocked(port);
          w.resolve(this.describe(existing));
          continue;
        }
        checkPort(port);
        const v = this.vpc(port.vpcId);
        if (fresh.some((f) => f.p.spec.portId === port.portId)) throw new Error(`fabric: ${port.portId} is being plugged twice`);
        this.checkAddressFree(port);
        this.check(port.vpcId, { port });
        const transitIndex = this.freeTransit();
        const p: Port = { spec: port, ns: portNs(this.slot, port.portId), transitIndex, transitIp: transitAddress(this.slot, transitIndex) };
        // An existing namespace may hold a running instance (taken back after a restart): a
        // failed plug must not delete it.
        fresh.push({ w, p, v, adopted: netnsExists(p.ns) });
        // Known at once, so the batch's next ports see its address and transit index taken.
        this.ports.set(port.portId, p);
        this.byTransit.set(p.transitIp, port.portId);
      } catch (err) {
        w.reject(err);
      }
    }
    if (fresh.length === 0) return;
    const wired = await Promise.allSettled(fresh.map(({ p, v }) => this.wire(v, p)));
    const undo = async (f: (typeof fresh)[number]) => {
      this.ports.delete(f.p.spec.portId);
      this.byTransit.delete(f.p.transitIp);
      if (f.adopted) await quietly(ip(f.v.ns, 'link', 'del', peerName(f.p.spec.portId)));
      else await unwirePort(f.v.ns, f.p.ns, f.p.spec.portId);
      await quietly(ip(undefined, 'route', 'del', `${f.p.transitIp}/32`));
    };
    const ok: typeof fresh = [];
    for (const [i, r] of wired.entries()) {
      if (r.status === 'fulfilled') ok.push(fresh[i]);
      else {
        await undo(fresh[i]);
        fresh[i].w.reject(r.reason);
      }
    }
    const vpcs = new Set(fresh.map((f) => f.v));
    try {
      for (const v of vpcs) await this.applyRouter(v);
      await this.applyHost();
    } catch (err) {
      for (const f of ok) await undo(f);
      for (const v of vpcs) await quietly(this.applyRouter(v));
      await quietly(this.applyHost());
      for (const f of ok) f.w.reject(err);
      return;
    }
    for (const f of ok) f.w.resolve(this.describe(f.p));
  }

  private async unplugBatch(batch: Waiting<string, void>[]): Promise<void> {
    const touched = new Set<Vpc>();
    await Promise.all(
      batch.map(async (w) => {
        const p = this.ports.get(w.arg);
        if (!p) return;
        const v = this.vpcs.get(p.spec.vpcId);
        this.ports.delete(w.arg);
        this.byTransit.delete(p.transitIp);
        await quietly(ip(undefined, 'route', 'del', `${p.transitIp}/32`));
        if (v) {
          await unwirePort(v.ns, p.ns, w.arg);
          touched.add(v);
        } else {
          await quietly(ip(undefined, 'netns', 'delete', p.ns));
        }
      }),
    );
    try {
      for (const v of touched) await this.applyRouter(v);
      await this.applyHost();
    } catch (err) {
      for (const w of batch) w.reject(err);
      return;
    }
    for (const w of batch) w.resolve();
  }

  private persist(): void {
    saveFabricState(this.slot, {
      vpcs: [...this.vpcs.values()].map((v) => ({ spec: v.spec, policy: v.policy, index: v.index })),
      ports: [...this.ports.values()].map((p) => ({ spec: p.spec, transitIndex: p.transitIndex })),
    });
  }

  private vpc(vpcId: string): Vpc {
    const v = this.vpcs.get(vpcId);
    if (!v) throw new Error(`fabric: unknown VPC ${vpcId}`);
    return v;
  }

  /**
   * The subnet must be known (its gateway lives on the router), and two instances with one private
   * IP would share a /32 route: the second would silently steal the first's traffic.
   */
  private checkAddressFree(port: PortSpec): void {
    const v = this.vpc(port.vpcId);
    if (!v.spec.subnets.some((s) => parseCidr4(s.cidr)?.text === parseCidr4(port.subnetCidr)?.text)) {
      throw new Error(`fabric: ${port.subnetCidr} is not a subnet of ${port.vpcId}`);
    }
    for (const other of this.ports.values()) {
      if (other.spec.portId !== port.portId && other.spec.vpcId === port.vpcId && other.spec.privateIp === port.privateIp) {
        throw new Error(`fabric: ${port.privateIp} in ${port.vpcId} is already ${other.spec.portId}'s`);
      }
    }
  }

  private describe(p: Port) {
    return { netns: p.ns, netnsPath: `/run/netns/${p.ns}`, transitIp: p.transitIp };
  }

  private freeTransit(): number {
    const used = new Set([...this.ports.values()].map((p) => p.transitIndex));
    for (let j = TRANSIT_FIRST; j < TRANSIT_END; j++) if (isUsableTransit(j) && !used.has(j)) return j;
    throw new Error(`fabric: no transit address left in slot ${this.slot}`);
  }

  /** Gateways (each subnet's .1), the DNS address (base+2 of each VPC CIDR) and 169.254.169.253. */
  private routerAddresses(vpc: VpcSpec): string[] {
    const out = new Set<string>();
    for (const s of vpc.subnets) out.add(intToIp(parseCidr4(s.cidr)!.base + 1));
    for (const c of vpc.cidrs) out.add(intToIp(parseCidr4(c)!.base + 2));
    out.add('169.254.169.253');
    return [...out];
  }

  private async wire(v: Vpc, p: Port): Promise<void> {
    const subnet = parseCidr4(p.spec.subnetCidr);
    if (!subnet) throw new Error(`fabric: bad subnet CIDR ${p.spec.subnetCidr}`);
    await wirePort({
      routerNs: v.ns, portNs: p.ns, portId: p.spec.portId,
      privateIp: p.spec.privateIp, prefix: subnet.prefix, gateway: intToIp(subnet.base + 1),
      transit: { ip: p.transitIp, router: v.uplink.router, hostIf: v.hostIf },
    });
  }

  private async updateLocked(port: PortSpec): Promise<void> {
    const p = this.ports.get(port.portId);
    if (!p) throw new Error(`fabric: ${port.portId} is not plugged`);
    checkPort(port);
    if (port.vpcId !== p.spec.vpcId) throw new Error(`fabric: ${port.portId} cannot move from ${p.spec.vpcId} to ${port.vpcId}`);
    const v = this.vpc(port.vpcId);
    const rewire = port.privateIp !== p.spec.privateIp || port.subnetCidr !== p.spec.subnetCidr;
    if (rewire) this.checkAddressFree(port);
    this.check(port.vpcId, { port });
    p.spec = port;
    if (rewire) await this.wire(v, p);
    await this.applyRouter(v);
    await this.applyHost();
  }

  private async removeVpcLocked(vpcId: string): Promise<void> {
    const v = this.vpcs.get(vpcId);
    if (!v) return;
    for (const [id, p] of [...this.ports]) {
      if (p.spec.vpcId !== vpcId) continue;
      this.ports.delete(id);
      this.byTransit.delete(p.transitIp);
      await unwirePort(v.ns, p.ns, id);
    }
    this.vpcs.delete(vpcId);
    await removeRouter(v.ns, v.hostIf); // its host routes go with the host veth
    await this.applyHost();
  }

  /**
   * The router's nft script for a VPC state. Also called on a prospective state before a change is
   * recorded: a policy nft cannot express (a bad protocol, say) is refused there, instead of being
   * stored and failing every later change of the VPC.
   */
  private routerScript(spec: VpcSpec, policy: VpcPolicy, ports: PortSpec[], transitOf: (p: PortSpec) => string): string {
    // As through an internet gateway: only with a public IP, and only from a subnet routed to one.
    const publicSubnets = spec.subnets.filter((s) => s.internet).map((s) => parseCidr4(s.cidr)!.text);
    const outside = (p: PortSpec) => this.internet && p.publicIps.length > 0 && publicSubnets.includes(parseCidr4(p.subnetCidr)?.text ?? '');
    return renderRouter({
      internet: this.internet,
      table: ROUTER_TABLE,
      serviceAddress: this.serviceAddress,
      dnsAddresses: [...spec.cidrs.map((c) => intToIp(parseCidr4(c)!.base + 2)), '169.254.169.253'],
      subnets: spec.subnets.map((s) => ({ cidr: s.cidr, naclId: s.naclId })),
      policy,
      ports: ports.map((p) => ({
        privateIp: p.privateIp,
        transitIp: transitOf(p),
        groups: p.groups,
        hasPublicIp: p.publicIps.length > 0,
        hopLimit: p.imdsHopLimit ?? 2,
        internet: outside(p),
      })),
    });
  }

  /** Throws when the VPC state after a change could not be rendered; `port` replaces or adds one instance. */
  private check(vpcId: string, change: { spec?: VpcSpec; policy?: VpcPolicy; port?: PortSpec }): void {
    const v = this.vpcs.get(vpcId);
    const ports = this.portsOf(vpcId).map((p) => p.spec).filter((p) => p.portId !== change.port?.portId);
    if (change.port) ports.push(change.port);
    this.routerScript(change.spec ?? v!.spec, change.policy ?? v!.policy, ports, () => '198.18.0.0');
  }

  private portsOf(vpcId: string): Port[] {
    return [...this.ports.values()].filter((p) => p.spec.vpcId === vpcId);
  }

  private async applyRouter(v: Vpc): Promise<void> {
    const ports = this.portsOf(v.spec.vpcId);
    const transit = new Map(ports.map((p) => [p.spec.portId, p.transitIp]));
    await nft(v.ns, this.routerScript(v.spec, v.policy, ports.map((p) => p.spec), (p) => transit.get(p.portId)!));
  }

  private async applyHost(): Promise<void> {
    const publics = new Map<string, string>();
    for (const p of this.ports.values()) for (const pub of p.spec.publicIps) publics.set(pub, p.transitIp);
    await applyHostTable({ slot: this.slot, serviceAddress: this.serviceAddress, publics, internet: this.internet });
  }
}
