/**
 * EC2 (ec2 wire family): the operation table. Handlers live by area, one file per resource:
 *
 *   vpc/        VPCs and their attributes and DNS, the default VPC, subnets, DHCP options,
 *               internet gateways, route tables and routes, security groups and their rules,
 *               network ACLs, network interfaces, Elastic IPs, prefix lists, and the VPC policy
 *               the data plane enforces
 *   instances/  RunInstances and the lifecycle, attributes, status, public IPs, the instance rows
 *   dataplane/  the supervisors that make the host match the rows (on runtime/reconciler.ts:
 *               instances, volumes and snapshots), root volumes and instance-store disks, its
 *               ports in the shared VPC data plane, and what EC2 plugs into that plane: its DNS
 *               zone (with dns-names.ts), the instance metadata service and the disk actions
 *               root in an instance asks of kumo (host-actions.ts: mount, mkfs.xfs)
 *   ebs/        volumes, attachments, modifications, snapshots and their attributes (the host
 *               side is dataplane/volumes.ts and dataplane/snapshot-steps.ts)
 *   images/     the public AMI catalog
 *   keys/       key pairs and their key material
 *   catalog/    instance types, regions and zones
 *   ./          this table, store.ts, errors.ts, and what every resource shares: the Describe/
 *               Delete shape (describe.ts), tag rules (tagging.ts) and the tag calls (tags.ts)
 *
 * This file assembles them and makes each account+region's defaults (default VPC, DHCP options)
 * before the first call there runs.
 *
 * Differences from AWS:
 * - IPv4 only: IPv6 CIDRs on VPCs and subnets, IPAM pools and Outposts are refused.
 *   Security group rules and network ACL entries do accept IPv6 CIDRs.
 * - Managed prefix lists: the AWS-managed ones are `com.amazonaws.<region>.s3` and `.dynamodb`
 *   only, with IDs derived from the region (not Amazon's real IDs) and a few plausible CIDRs that
 *   are NOT Amazon's real ranges; they show no MaxEntries/Version and count as one rule in a
 *   security group's quota. Customer lists are `create-complete`/`modify-complete` at once (AWS
 *   passes through `*-in-progress`), DeleteManagedPrefixList answers `delete-in-progress` but the
 *   list is gone at once, and deleting a list a security group rule or route refers to is refused
 *   synchronously with DependencyViolation (AWS's exact behaviour there is unverified: it may
 *   instead go to `delete-failed`). Refusals to modify/delete AWS-managed lists, to grow MaxEntries
 *   past a referencing group's quota, bad CIDRs and duplicate entries are InvalidParameterValue
 *   with kumo's messages; a change of entries without CurrentVersion is MissingParameter. No
 *   RestoreManagedPrefixListVersion, GetManagedPrefixListAssociations, sharing (RAM) or
 *   transit gateway references. ClientToken makes CreateManagedPrefixList idempotent.
 * - Route targets: internet gateways and network interfaces. Instances answer
 *   InvalidInstanceID.NotFound until kumo has them; NAT/transit/local/carrier gateways, peering
 *   connections and VPC endpoints answer theirs (no such resource can exist yet). IPv6
 *   destinations and gateway (edge) route table associations are refused. A DestinationPrefixListId
 *   must be one of the account's own IPv4 lists (AWS-managed ones, which AWS routes only through
 *   gateway endpoints, are InvalidParameterValue); such a route counts as one route, not as the
 *   list's MaxEntries, and is not checked against the VPC's CIDRs.
 * - Network interfaces: IPv4 only, type `interface` only, no IPv4 prefixes. An instance has exactly
 *   its primary interface (created by RunInstances, deleted at termination); AttachNetworkInterface
 *   is not implemented.
 * - Elastic IPs: VPC domain, Amazon pool only; addresses are loopback addresses from
 *   KUMO_EIP_POOL (default 127.100.0.0/16), never real public ones, so the host can reach them;
 *   five per account and region. They associate with network interfaces and instances.
 * - Key pairs: KeyFormat ppk gives a PuTTY format 2 file (not checked with puttygen here);
 *   PublicKey's comment is always the key name; no 5,000-per-region quota.
 * - Images: the public catalog (./images/images.ts) and images of one's own (./images/own-images.ts,
 *   ./images/image-attributes.ts). CreateImage's default reboot is a stop and start kumo makes
 *   (the instance shows `stopping`, `stopped`, then `pending` and `running`, where AWS shows it
 *   `running` through its reboot), keeping its public IP and instance-store data. Images boot
 *   from snapshots of kumo root volumes only (a root volume holds the instance's changes over the
 *   shared base image); RegisterImage from another snapshot is refused. Instance store-backed
 *   images (ImageLocation), kernels and ramdisks, encrypted copies, organizations in launch
 *   permissions, deregistration protection and image deprecation of one's own images are absent;
 *   CopyImage copies images of one's own or shared with the caller, not catalog images (they are
 *   in every region already).
 * - Instance types: a table of selected real families (./catalog/instance-types-data.ts), each offered in
 *   every zone of the region; other types are InvalidInstanceType.
 * - Security group references are same-VPC and same-account only (no peering).
 * - The default VPC appears on the first EC2 call in an account+region, not at account creation.
 * - Regions outside kumo's table have no availability zones (and a default VPC without subnets).
 * - CreateTags/DeleteTags on an ID of a type kumo does not have yet (i-, ami-, vol-, …) is
 *   InvalidID, where AWS would say that type's NotFound.
 * - ClientToken idempotency (CreateRouteTable, CreateNetworkAcl, CreateNetworkInterface) is
 *   echoed, not enforced.
 * - Some refusals' codes are AWS's documented ones but their message texts are kumo's; deleting
 *   a default network ACL answers InvalidParameterValue (AWS's exact code there is unverified).
 * - Instances (./instances/instances.ts, ./instances/launch.ts, ./dataplane/supervisor.ts): containers booting the AMI's
 *   kumo image (runtime/), not VMs; every AMI is backed by a local Debian 12 image. An instance
 *   is held to its type's memory and vCPUs (cgroup limits; the OOM killer acts inside it) and to
 *   4,096 tasks, which AWS does not cap. Root inside is root of its own user namespace: it cannot
 *   reconfigure its network interface, routes or firewall (the VPC owns them). A root volume is
 *   an ext4 disk holding the overlay's upper layer over the shared image (df / shows its size;
 *   the image's files are not on it, so a snapshot holds what the instance changed). Auto-assigned public IPs come from the
 *   loopback pool (KUMO_EIP_POOL) like Elastic IPs and are released at stop, as on AWS; the new one
 *   given at start (or when an Elastic IP that replaced it is disassociated, which AWS does "within
 *   a few minutes") is there at once, already in the `pending` state. One network
 *   interface per instance; no launch templates, Spot, IPv6, placement groups, hibernation,
 *   additional EBS volumes at launch, or IAM instance profiles. Status checks: the system check is
 *   kumo's host side (ok while the container is up); the instance check asks the container's
 *   systemd (`impaired` when it is hung or dead). A crashed kumo's instances keep running and the
 *   next kumo adopts them; `kumo stop` stops them and the next start boots them again (their rows
 *   stay `running`). Terminated instances are listed for an hour, then purged.
 *   ClientToken makes RunInstances idempotent per account and region.
 * - DNS names (./vpc/vpc-dns.ts): PublicDnsName only with both VPC DNS attributes on, PrivateDnsName
 *   always, as AWS documents; both are shown from launch, where AWS fills them in once the
 *   instance runs. The VPC resolver answers EC2's names only (no forwarding to the outside), with
 *   REFUSED when enableDnsSupport is off (AWS's resolver just does not answer); IMDS's
 *   public-hostname is empty, not absent, where the VPC gives no public DNS names.
 * - EBS (./ebs/): volumes are sparse files, loop devices while attached; a data volume appears
 *   in a running instance as /dev/xvdX (the device name's last letters, sdX → xvdX). Root inside
 *   cannot mount or run mkfs.xfs on it itself (user namespace): the image's mount and mkfs.xfs
 *   helpers ask kumo, which does it for the instance (host-actions.ts). Growing a mounted root
 *   volume's ext4 happens online only where kumo holds CAP_SYS_RESOURCE, else at the next start;
 *   a data volume's filesystem cannot be grown from inside (resize2fs/xfs_growfs need the host).
 *   Performance figures (IOPS, throughput) are recorded, not enforced; io1/io2 Multi-Attach,
 *   fast snapshot restore, snapshot archive tiers, recycle bin and EBS direct APIs are absent.
 * - Route tables are recorded; every subnet of a VPC reaches every other (the `local` route), and
 *   nothing is routed outside the host whatever the routes say, but with `kumo start --internet`:
 *   then a 0.0.0.0/0 route to an attached internet gateway lets the subnet's instances that have a
 *   public IP out through NAT (state/vpc-policy.ts). The VPC resolver also answers a few download
 *   hosts (ja.wordpress.org) with kumo's mirror, and apt reaches Debian through kumo's package
 *   proxy (runtime/outside), in every VPC whatever its routes.
 */
import type { Ec2Operations } from '../../models/generated/ec2.js';
import { loadModel } from '../../models/loader.js';
import { Ec2Codec } from '../../protocol/query.js';
import type { DataPlane } from '../../runtime/data-plane.js';
import type { InstanceDriver } from '../../runtime/instances/driver.js';
import type { SnapshotStore } from '../../runtime/snapshots/store.js';
import type { VolumeStore } from '../../runtime/volumes.js';
import { migrate, type Db } from '../../state/db.js';
import type { NetworkStore } from '../../state/network.js';
import type { TagStore } from '../../state/tags.js';
import type { Handler, RequestContext, Service } from '../service.js';
import { Ec2Store } from './store.js';
import { ec2AuthErrors } from './errors.js';
import { tagHandlers } from './tags.js';
import { RegionDefaults, defaultVpcHandlers } from './vpc/default-vpc.js';
import { dhcpOptionsHandlers } from './vpc/dhcp-options.js';
import { elasticIpHandlers } from './vpc/elastic-ips.js';
import { internetGatewayHandlers } from './vpc/internet-gateways.js';
import { networkAclHandlers } from './vpc/network-acls.js';
import { networkInterfaceHandlers } from './vpc/network-interfaces.js';
import { prefixListHandlers } from './vpc/prefix-lists.js';
import { routeTableHandlers } from './vpc/route-tables.js';
import { routeHandlers } from './vpc/routes.js';
import { securityGroupRuleHandlers } from './vpc/security-group-rules.js';
import { securityGroupHandlers } from './vpc/security-groups.js';
import { subnetHandlers } from './vpc/subnets.js';
import { vpcAttributeHandlers } from './vpc/vpc-attributes.js';
import { vpcHandlers } from './vpc/vpcs.js';
import { instanceAttributeHandlers } from './instances/attributes.js';
import { instanceHandlers, type InstanceDeps } from './instances/instances.js';
import type { ImageLookup } from './instances/launch.js';
import { InstanceDirectory } from './dataplane/metadata.js';
import { instanceStatusHandlers } from './instances/status.js';
import { InstanceStore, instanceMigrations } from './instances/store.js';
import { InstanceSupervisor } from './dataplane/supervisor.js';
import { plugIntoDataPlane } from './dataplane/vpc-services.js';
import type { AttachedDevices } from './dataplane/host-actions.js';
import { findImage, imageHandlers, ImageErrors, type OwnImages } from './images/images.js';
import { canLaunch, imageView, ownImageHandlers } from './images/own-images.js';
import { imageAttributeHandlers } from './images/image-attributes.js';
import { imageMigrations, imageStore, type ImageStore } from './images/store.js';
import { ImageBuilder } from './dataplane/image-builds.js';
import { keyPairHandlers } from './keys/key-pairs.js';
import { keyPairMigrations } from './keys/store.js';
import { instanceTypeHandlers } from './catalog/instance-types.js';
import { regionHandlers } from './catalog/regions.js';
import { ebsHandlers, ebsMigrations, ebsStore, type Ebs, type SnapshotUser } from './ebs/index.js';
import { VolumeSupervisor } from './dataplane/volumes.js';

/** The host side of instances, picked by the composition root. */
export interface Ec2Runtime {
  /** EC2's own containers (runtime/host-runtime.ts, one driver per owner). */
  driver: InstanceDriver;
  /** Volumes as disk files (native runtime only). */
  volumes?: VolumeStore;
  /** EBS snapshots (native runtime only). */
  snapshots?: SnapshotStore;
  /** Where instance-store disks live (native runtime only). */
  instanceStoreDir?: string;
  /** The shared VPC data plane: EC2 plugs its instances, its DNS zone and its metadata service into it. */
  plane: DataPlane;
  /** Rootfs of a kumo image (built on first use). */
  imageRootfs: (name: string) => Promise<string>;
  /** CA certificates new instances trust (kumo's own). */
  trustedCertificates?: () => Promise<string[]>;
}

export interface Ec2Deps {
  db: Db;
  network: NetworkStore;
  tags: TagStore;
  runtime: Ec2Runtime;
  log: (line: string) => void;
  /** The clock (default: the system's); tests move it. */
  now?: () => Date;
}

/** What RunInstances needs of an AMI: a catalog one, or an available image of one's own or shared. */
function imageLookup(images: ImageStore): ImageLookup {
  return (scope, imageId) => {
    const catalog = findImage(scope.region, imageId);
    if (catalog) {
      return {
        ImageId: catalog.imageId,
        Architecture: catalog.architecture,
        KumoImage: catalog.kumoImage.name,
        DefaultUser: catalog.defaultUser,
        RootDeviceName: catalog.rootDeviceName,
        RootSizeGiB: catalog.volumeSize,
        RootSnapshotId: catalog.snapshotId,
        RootVolumeType: 'gp3',
        ImdsSupport: catalog.imdsSupport,
      };
    }
    const own = images.get(scope.region, imageId);
    if (!own || !canLaunch(scope.account, own.scope.account, own.row)) return undefined;
    const image = own.row;
    if (image.State !== 'available') throw ImageErrors.unavailable(imageId);
    const root = image.BlockDeviceMappings.find((m) => m.DeviceName === image.RootDeviceName)!.Ebs!;
    return {
      ImageId: image.ImageId,
      Architecture: image.Architecture,
      KumoImage: image.KumoImage,
      DefaultUser: image.DefaultUser,
      RootDeviceName: image.RootDeviceName,
      RootSizeGiB: root.VolumeSize,
      RootSnapshotId: root.SnapshotId,
      RootVolumeType: root.VolumeType,
      RootDeleteOnTermination: root.DeleteOnTermination,
      RestoreRoot: true,
      DataVolumes: image.BlockDeviceMappings.flatMap((m) => (m.DeviceName !== image.RootDeviceName && m.Ebs ? [{ DeviceName: m.DeviceName, ...m.Ebs }] : [])),
      ImdsSupport: image.ImdsSupport,
    };
  };
}

/** Images of one's own and those shared with the caller, as DescribeImages lists them. */
function ownImages(images: ImageStore, store: Ec2Store): OwnImages {
  return {
    visible: (ctx) => {
      const rows = images.inRegion(ctx.region).filter((x) => canLaunch(ctx.account, x.scope.account, x.row));
      const tagged = store.withTags({ account: ctx.account, region: ctx.region }, 'image', (x) => x.row.ImageId, rows);
      return tagged.map((x) => ({ image: imageView(x.row, x.scope.account === ctx.account ? x.Tags : []), record: x.row }));
    },
    find: (account, region, id) => {
      const found = images.get(region, id);
      return found && canLaunch(account, found.scope.account, found.row) ? found.row : undefined;
    },
  };
}

export interface Ec2Service extends Service {
  supervisor: InstanceSupervisor;
  /** Makes an account+region's default VPC and DHCP options unless they exist (other services' calls need them too). */
  ensureDefaults(ctx: RequestContext): void;
  instances: InstanceStore;
  store: Ec2Store;
  ebs: Ebs;
}

export function createEc2Service(deps: Ec2Deps): Ec2Service {
  migrate(deps.db, 'ec2-key-pairs', keyPairMigrations);
  migrate(deps.db, 'ec2-instances', instanceMigrations);
  // After the instances': existing instances' root volumes become rows.
  migrate(deps.db, 'ec2-ebs', ebsMigrations);
  migrate(deps.db, 'ec2-images', imageMigrations);
  const images = imageStore(deps.db);
  const store = new Ec2Store(deps.db, deps.network, deps.tags);
  const instances = new InstanceStore(deps.db);
  const directory = new InstanceDirectory(store, instances);
  const now = deps.now ?? (() => new Date());
  const volumes = new VolumeSupervisor({
    store,
    ebs: ebsStore(deps.db),
    instances,
    driver: deps.runtime.driver,
    volumes: deps.runtime.volumes,
    snapshots: deps.runtime.snapshots,
    log: deps.log,
    now,
  });
  const snapshotUsers: SnapshotUser[] = [];
  // Devices an instance may have mounted: its instance-store disks, then its attached volumes.
  const devices: AttachedDevices = async (id, name) => (await supervisor.instanceStore.hostDevice(id, name)) ?? volumes.hostDevice(id, name);
  plugIntoDataPlane(deps.runtime.plane, directory, store, { driver: deps.runtime.driver, devices: () => devices });
  const supervisor = new InstanceSupervisor({
    store,
    instances,
    driver: deps.runtime.driver,
    volumes: deps.runtime.volumes,
    instanceStoreDir: deps.runtime.instanceStoreDir,
    plane: deps.runtime.plane,
    imageRootfs: deps.runtime.imageRootfs,
    trustedCertificates: deps.runtime.trustedCertificates,
    log: deps.log,
    now,
    snapshots: deps.runtime.snapshots,
    containers: (id, how) => volumes.containerChanged(id, how),
    settled: () => {
      volumes.wake();
      builder.wake();
    },
  });
  const builder = new ImageBuilder({
    store,
    ebs: ebsStore(deps.db),
    images,
    instances,
    changed: () => {
      supervisor.wake();
      volumes.wake();
    },
    log: deps.log,
    now,
  });
  volumes.onSnapshotSettled(() => builder.wake());
  // A snapshot an image names is in use: DeleteSnapshot refuses it (InvalidSnapshot.InUse).
  snapshotUsers.push((scope, snapshotId) =>
    images.inRegion(scope.region).find((x) => x.scope.account === scope.account && x.row.BlockDeviceMappings.some((m) => m.Ebs?.SnapshotId === snapshotId))?.row.ImageId);
  const instanceDeps: InstanceDeps = { store, instances, images: imageLookup(images), changed: () => supervisor.wake() };
  const ebsHost = {
    disks: deps.runtime.volumes !== undefined,
    snapshots: deps.runtime.volumes !== undefined && deps.runtime.snapshots !== undefined,
    attach: deps.runtime.driver.exposeDevice !== undefined,
  };
  const imageDeps = { store, ebs: ebsStore(deps.db), instances, host: ebsHost, images, changed: () => builder.wake() };
  const table: { [K in keyof Ec2Operations]: Handler } = {
    ...instanceHandlers(instanceDeps),
    ...instanceStatusHandlers(instanceDeps, supervisor),
    ...instanceAttributeHandlers(instanceDeps),
    ...vpcHandlers(store),
    ...vpcAttributeHandlers(store),
    ...subnetHandlers(store),
    ...defaultVpcHandlers(store),
    ...dhcpOptionsHandlers(store),
    ...internetGatewayHandlers(store),
    ...routeTableHandlers(store),
    ...routeHandlers(store),
    ...securityGroupHandlers(store),
    ...securityGroupRuleHandlers(store),
    ...networkAclHandlers(store),
    ...networkInterfaceHandlers(store),
    ...elasticIpHandlers(store),
    ...prefixListHandlers(store),
    ...tagHandlers(store),
    ...regionHandlers(),
    ...keyPairHandlers(store),
    ...instanceTypeHandlers(),
    ...imageHandlers(ownImages(images, store)),
    ...ownImageHandlers(imageDeps),
    ...imageAttributeHandlers(imageDeps),
    ...ebsHandlers({ store, ebs: ebsStore(deps.db), instances, host: ebsHost, snapshotUsers }),
  };
  const defaults = new RegionDefaults(store);
  // Region and zone listings are not regional state; everything else sees the region's defaults.
  const stateless = new Set<string>(['DescribeRegions', 'DescribeAvailabilityZones', 'DescribeInstanceTypes', 'DescribeInstanceTypeOfferings']);
  const handlers: Record<string, Handler> = {};
  for (const [name, handler] of Object.entries(table) as [string, Handler][]) {
    // Any change may matter to running instances (a rule, an Elastic IP): the supervisor
    // re-derives what the data plane needs and applies only what differs.
    const reads = /^(Describe|Get)/.test(name);
    handlers[name] = stateless.has(name)
      ? handler
      : async (ctx, input) => {
          defaults.ensure(ctx);
          const out = await handler(ctx, input);
          if (!reads) {
            supervisor.wake();
            volumes.wake();
            builder.wake();
            deps.runtime.plane.networkChanged();
          }
          return out;
        };
  }
  return {
    name: 'ec2',
    signingName: 'ec2',
    codec: new Ec2Codec(loadModel('ec2-2016-11-15')),
    handlers,
    authErrors: ec2AuthErrors,
    supervisor,
    instances,
    store,
    ebs: { supervisor: volumes, useSnapshots: (user) => snapshotUsers.push(user) },
    ensureDefaults: (ctx) => defaults.ensure(ctx),
    // Volumes recover after instances: which containers still run is known by then.
    start: async () => {
      await supervisor.start();
      await volumes.start();
      await builder.start();
    },
    reset: async () => {
      defaults.forget();
      await builder.drain();
      await volumes.drain();
      await supervisor.reset(deps.runtime.driver.list());
      await volumes.reset();
      supervisor.wake();
    },
    // A snapshot under way finishes; then instances stop; then no data volume stays a loop device.
    close: async () => {
      await builder.close();
      await volumes.close();
      await supervisor.close();
      await volumes.releaseAll();
    },
  };
}
