/**
 * Instance rows: what EC2 has been asked for (the desired lifecycle) and what the supervisor has
 * observed (the state it reports). Handlers write requests (`pending`, `stopping`,
 * `shutting-down`, a reboot request); the supervisor (./supervisor.ts) carries them out on the
 * host and writes the resulting state back. Networking (subnet, addresses, groups) lives on the
 * instance's primary network interface in the shared network tables, as on AWS; the row keeps
 * the interface's ID.
 */
import type { Db, Migration } from '../../../state/db.js';
import { ResourceTable, resourceTableSql } from '../../../state/resources.js';
import type { Scope } from '../../../state/scope.js';

export type InstanceStateName = 'pending' | 'running' | 'stopping' | 'stopped' | 'shutting-down' | 'terminated';

/** AWS's state codes (the low byte of the State.Code field). */
export const STATE_CODES: Record<InstanceStateName, number> = {
  pending: 0,
  running: 16,
  'shutting-down': 32,
  terminated: 48,
  stopping: 64,
  stopped: 80,
};

export interface InstanceRecord {
  InstanceId: string;
  ReservationId: string;
  OwnerId: string;
  ImageId: string;
  InstanceType: string;
  /** The AMI's architecture (an instance type may support several). */
  Architecture: string;
  KeyName?: string;
  AmiLaunchIndex: number;
  LaunchTime: string;
  AvailabilityZone: string;
  SubnetId: string;
  VpcId: string;
  NetworkInterfaceId: string;
  AttachmentId: string;
  PrivateIpAddress: string;
  /** Auto-assigned public IPv4 (from kumo's loopback pool); released on stop, new on start. */
  PublicIpAddress?: string;
  /** Whether an auto-assigned public IP is wanted (AssociatePublicIpAddress / MapPublicIpOnLaunch). */
  WantsPublicIp: boolean;
  State: InstanceStateName;
  StateTransitionReason: string;
  StateReason?: { Code: string; Message: string };
  /** StopInstances with Force: no time for a clean shutdown. */
  ForceStop?: boolean;
  /** Set while a RebootInstances is being carried out. */
  RebootRequested?: boolean;
  /** Base64 as sent on the wire. */
  UserData?: string;
  DisableApiTermination: boolean;
  DisableApiStop: boolean;
  InstanceInitiatedShutdownBehavior: 'stop' | 'terminate';
  RootDeviceName: string;
  RootVolumeId: string;
  RootVolumeSize: number;
  RootDeleteOnTermination: boolean;
  RootAttachTime: string;
  MetadataOptions: { HttpTokens: string; HttpPutResponseHopLimit: number; HttpEndpoint: string; InstanceMetadataTags: string; HttpProtocolIpv6: string };
  EbsOptimized: boolean;
  Monitoring: 'disabled' | 'enabled';
  ClientToken?: string;
  /** The instance's secret, readable by its root only, that proves a request to kumo comes from it (host-actions.ts). */
  HostToken?: string;
  SourceDestCheck: boolean;
  /** When it reached `terminated` (terminated instances stay listed for an hour, as on AWS). */
  TerminatedAt?: string;
  /** Which kumo image the instance booted from, and its default login user. */
  KumoImage: string;
  DefaultUser: string;
  /** Launched from an image of one's own: the snapshot its root volume is restored from at first boot. */
  RootRestoreFrom?: string;
  /**
   * Stopped by CreateImage (the image's ID) to snapshot its volumes at rest: on AWS a reboot, so
   * it keeps its public IP and instance-store data until the image builder starts it again.
   */
  ImageStop?: string;
}

export const instanceMigrations: Migration[] = [{ version: 1, up: resourceTableSql('ec2_instances') }];

export class InstanceStore {
  readonly table: ResourceTable<InstanceRecord>;
  private readonly all;

  constructor(db: Db) {
    this.table = new ResourceTable<InstanceRecord>(db, 'ec2_instances');
    this.all = db.prepare('SELECT account, region, data FROM ec2_instances ORDER BY seq');
  }

  get(scope: Scope, id: string): InstanceRecord | undefined {
    return this.table.get(scope, id);
  }

  list(scope: Scope): InstanceRecord[] {
    return this.table.list(scope);
  }

  /** Every instance of every account and region: the supervisor's view. */
  everywhere(): { scope: Scope; instance: InstanceRecord }[] {
    return (this.all.all() as { account: string; region: string; data: string }[]).map((r) => ({
      scope: { account: r.account, region: r.region },
      instance: JSON.parse(r.data) as InstanceRecord,
    }));
  }

  put(scope: Scope, record: InstanceRecord): void {
    if (this.table.get(scope, record.InstanceId)) this.table.update(scope, record.InstanceId, record);
    else this.table.insert(scope, record.InstanceId, record);
  }

  delete(scope: Scope, id: string): void {
    this.table.delete(scope, id);
  }
}
