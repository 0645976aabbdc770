/**
 * The VPC data plane every service plugs into, built once by the composition root (kumo.ts):
 *
 *   network()   the VPC fabric (native runtime only), opened on first use: routers, ports owned by
 *               any service (instances, load balancer nodes, database nodes), host reachability
 *               through loopback addresses; with the VPC resolver on the fabric's service address
 *   zones       the DNS zone registry (dns/zones.ts): services register their names; the VPC
 *               resolver and the host resolver answer from it
 *   hostDns     the host resolver, on a loopback address (`kumo status` and /_kumo/health show it)
 *   serve()     a service's own server on the service address, which instances reach through the
 *               fabric (EC2's instance metadata service on port 80; the outside world's package
 *               proxy and downloads, runtime/outside, on OUTSIDE_PORT)
 *
 *   instance → VPC base+2:53 ─┐ fabric DNATs to the service address and SNATs the source to the
 *   instance → 169.254.169.254 ┘ port's transit address → portAt() → which port (and owner) asks
 *
 * reset() and close() take the fabric down (nothing of it stays on the host); the next network()
 * opens it again. After a takeover (kill -9), ports stay wired until every service that owns
 * ports (registerPortOwner: EC2's instances, ELB's nodes) has plugged its own again (prune).
 */
import type { Fabric } from './network/fabric.js';
import type { PortSpec, VpcPolicy, VpcSpec } from './network/types.js';
import { createDnsServer, type DnsServer } from './dns/server.js';
import { DnsZones } from './dns/zones.js';

/** The fabric as services use it (ports are per owner; VPCs are shared). */
export interface NetworkPlane {
  readonly serviceAddress: string;
  ensureVpc(vpc: VpcSpec, policy: VpcPolicy): Promise<void>;
  setPolicy(vpcId: string, policy: VpcPolicy): Promise<void>;
  plug(port: PortSpec): Promise<{ netns: string; transitIp: string }>;
  update(port: PortSpec): Promise<void>;
  unplug(portId: string): Promise<void>;
  removeVpc(vpcId: string): Promise<void>;
  /**
   * `owner` has plugged again every port it still wants: once every owner of ports (see
   * registerPortOwner) has said so, drops what a crashed predecessor had wired and nobody claimed
   * again. The names removed (none until the last owner is done).
   */
  prune(owner: string): Promise<string[]>;
  /** Which port a connection to the service address comes from (its transit source address). */
  portAt(remoteAddress: string): { portId: string; owner: string; vpcId: string } | undefined;
}

/**
 * A server of a service's own on the service address: started when the fabric opens, closed with
 * it. `portAt` tells which port a connection comes from.
 */
export type ServiceEndpoint = (at: { address: string; portAt: NetworkPlane['portAt'] }) => Promise<() => Promise<void>>;

export interface DataPlaneOptions {
  /** Absent: no fabric on this host (the process runtime); network() refuses. */
  openFabric?: () => Promise<Fabric>;
  /** Where the host resolver listens, or undefined for none. */
  hostDns?: { host: string; port: number };
  log: (line: string) => void;
}

interface Open {
  net: NetworkPlane;
  close(): Promise<void>;
}

export class DataPlane {
  readonly zones = new DnsZones();
  private readonly endpoints: ServiceEndpoint[] = [];
  private readonly portOwners = new Set<string>();
  private readonly networkListeners: (() => void)[] = [];
  private open: Promise<Open> | undefined;
  private host: DnsServer | undefined;
  private vpcResolverOn: (vpcId: string) => boolean = () => true;
  private hostAddress: string | undefined;

  constructor(private readonly options: DataPlaneOptions) {}

  /** Whether instances get networks of their own here (native runtime). */
  get hasFabric(): boolean {
    return this.options.openFabric !== undefined;
  }

  /** `ip:port` of the host resolver, once it listens. */
  get hostDns(): string | undefined {
    return this.hostAddress;
  }

  /** Starts the host resolver. Its address may be taken (another kumo): kumo then runs without it, and says so. */
  async start(): Promise<void> {
    const want = this.options.hostDns;
    if (!want) return;
    const server = createDnsServer({ resolve: (q) => this.zones.resolve(q, { kind: 'host' }) });
    try {
      await server.listen(want.host, want.port);
    } catch (err) {
      await server.close().catch(() => {});
      this.options.log(`host DNS: not listening on ${want.host}:${want.port}: ${(err as Error).message}`);
      return;
    }
    this.host = server;
    this.hostAddress = `${want.host}:${server.address().udp}`;
    this.options.log(`host DNS on ${this.hostAddress} (AWS names kumo knows)`);
  }

  /**
   * Whether a VPC's resolver answers at all (EC2's enableDnsSupport): where it does not, every
   * question from that VPC is refused, whichever zone the name is in. Set by the VPCs' owner.
   */
  gateVpcResolver(on: (vpcId: string) => boolean): void {
    this.vpcResolverOn = on;
  }

  /** A service that plugs ports: the fabric prunes after a takeover only once it has plugged its own again. */
  registerPortOwner(owner: string): void {
    this.portOwners.add(owner);
  }

  /**
   * The VPCs' network rows changed (a security group rule, an ACL entry): every service with ports
   * re-derives its VPCs' rules. The VPCs' owner (EC2) says so after its writes.
   */
  onNetworkChange(listener: () => void): void {
    this.networkListeners.push(listener);
  }

  networkChanged(): void {
    for (const l of this.networkListeners) l();
  }

  /** Registers a server to run on the service address whenever the fabric is up. */
  serve(endpoint: ServiceEndpoint): void {
    this.endpoints.push(endpoint);
  }

  network(): Promise<NetworkPlane> {
    if (!this.options.openFabric) return Promise.reject(new Error('this host has no VPC fabric (process runtime)'));
    this.open ??= this.openFabric(this.options.openFabric).catch((err) => {
      this.open = undefined;
      throw err;
    });
    return this.open.then((o) => o.net);
  }

  /** The fabric, if it is open: for work that must not open it (pruning after a takeover). */
  async ifOpen(): Promise<NetworkPlane | undefined> {
    return this.open ? (await this.open).net : undefined;
  }

  /** Everything was wiped: the fabric goes; the next network() builds it anew. */
  async reset(): Promise<void> {
    const open = this.open;
    this.open = undefined;
    if (open) await (await open).close();
  }

  async close(): Promise<void> {
    await this.reset();
    await this.host?.close();
    this.host = undefined;
    this.hostAddress = undefined;
  }

  private async openFabric(openFabric: () => Promise<Fabric>): Promise<Open> {
    const fabric = await openFabric();
    const address = fabric.serviceAddress;
    const closers: (() => Promise<void>)[] = [];
    const dns = createDnsServer({
      resolve: (q) => {
        const port = fabric.portAt(q.remoteAddress);
        if (!port || !this.vpcResolverOn(port.vpcId)) return 'refused';
        return this.zones.resolve(q, { kind: 'vpc', ...port });
      },
    });
    try {
      await dns.listen(address, 53);
      closers.push(() => dns.close());
      for (const start of this.endpoints) closers.push(await start({ address, portAt: (remote) => fabric.portAt(remote) }));
    } catch (err) {
      for (const close of closers.reverse()) await close().catch(() => {});
      await fabric.close();
      throw err;
    }
    this.options.log(`VPC data plane up: DNS and service endpoints on ${address} (fabric slot ${fabric.slot})`);
    const claimed = new Set<string>();
    let pruned = false;
    const net: NetworkPlane = {
      serviceAddress: address,
      ensureVpc: (vpc, policy) => fabric.ensureVpc(vpc, policy),
      setPolicy: (vpcId, policy) => fabric.setPolicy(vpcId, policy),
      plug: (port) => fabric.plug(port),
      update: (port) => fabric.update(port),
      unplug: (id) => fabric.unplug(id),
      removeVpc: (id) => fabric.removeVpc(id),
      prune: async (owner) => {
        claimed.add(owner);
        if (pruned || [...this.portOwners].some((o) => !claimed.has(o))) return [];
        pruned = true;
        return fabric.prune();
      },
      portAt: (remote) => fabric.portAt(remote),
    };
    return {
      net,
      close: async () => {
        for (const close of closers.reverse()) await close().catch((err: Error) => this.options.log(`VPC data plane: ${err.message}`));
        await fabric.close();
      },
    };
  }
}
