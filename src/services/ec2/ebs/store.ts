/**
 * EBS rows: volumes and snapshots, with their own migration component ('ec2-ebs'). Handlers
 * (./volumes.ts, ./snapshots.ts, …) write what was asked (`creating`, `deleting`, an attachment
 * `attaching`, a snapshot `pending`); the reconciler (../dataplane/volumes.ts) does the host work
 * and writes back what happened. Queries only; rules live in the handlers.
 *
 * Two tables, one row per resource as JSON (like state/resources.ts), each with one column more
 * for the query that must not scan: a volume's instance (DescribeInstances lists every
 * instance's block devices), and a snapshot's region across accounts (a snapshot shared with or
 * public to another account is seen there, so DescribeSnapshots reads a whole region).
 */
import { perDatabase, type Db, type Migration } from '../../../state/db.js';
import type { Scope } from '../../../state/scope.js';

export type VolumeState = 'creating' | 'available' | 'in-use' | 'deleting' | 'error';

export interface VolumeAttachmentRecord {
  InstanceId: string;
  /** As the caller named it (`/dev/sdf`, `xvdf`). */
  Device: string;
  State: 'attaching' | 'attached' | 'detaching';
  AttachTime: string;
  DeleteOnTermination: boolean;
  /** The instance's root device: the instance supervisor mounts it, nothing is exposed. */
  Root?: boolean;
  /** DetachVolume with Force. */
  Force?: boolean;
}

export interface VolumeModificationRecord {
  ModificationState: 'modifying' | 'optimizing' | 'completed' | 'failed';
  StatusMessage?: string;
  TargetSize: number;
  TargetVolumeType: string;
  TargetIops?: number;
  TargetThroughput?: number;
  OriginalSize: number;
  OriginalVolumeType: string;
  OriginalIops?: number;
  OriginalThroughput?: number;
  Progress: number;
  StartTime: string;
  EndTime?: string;
}

export interface VolumeRecord {
  VolumeId: string;
  OwnerId: string;
  AvailabilityZone: string;
  /** GiB. */
  Size: number;
  VolumeType: string;
  /** Provisioned (gp3, io1, io2) or the baseline (gp2); none for st1, sc1, standard. */
  Iops?: number;
  /** gp3 only, MiB/s. */
  Throughput?: number;
  /** The snapshot it was made from, or ''. */
  SnapshotId: string;
  CreateTime: string;
  State: VolumeState;
  Attachment?: VolumeAttachmentRecord;
  AutoEnableIO: boolean;
  ClientToken?: string;
  /** The latest ModifyVolume (DescribeVolumesModifications shows it). */
  Modification?: VolumeModificationRecord;
  /** On the host: `root` holds an instance root's overlay upper layer (runtime/volumes.ts), `raw` is a data disk. */
  Format: 'root' | 'raw';
  /**
   * What an instance root holds: set on root volumes and on what is made from their snapshots, so
   * that an image registered from such a snapshot boots.
   */
  Boot?: BootInfo;
}

/** The kumo image an instance root's upper layer goes over, and the login user of the AMI it came from. */
export interface BootInfo {
  KumoImage: string;
  DefaultUser: string;
}

export interface CreateVolumePermission {
  UserId?: string;
  /** `all`: public. */
  Group?: string;
}

export interface SnapshotRecord {
  SnapshotId: string;
  OwnerId: string;
  /** The volume it was taken from (`vol-ffffffff` for a copy, as AWS shows). */
  VolumeId: string;
  VolumeSize: number;
  Description: string;
  StartTime: string;
  State: 'pending' | 'completed' | 'error';
  /** `0%` … `100%`. */
  Progress: string;
  StateMessage?: string;
  CreateVolumePermissions: CreateVolumePermission[];
  /** CopySnapshot: the snapshot whose data this one names (perhaps in another region). */
  CopyOf?: { SnapshotId: string; Region: string };
  /** Bytes this snapshot added to the store (runtime/snapshots), once completed. */
  StoredBytes?: number;
  /** Of an instance root volume: what it boots (see VolumeRecord). */
  Boot?: BootInfo;
}

export const ebsMigrations: Migration[] = [
  {
    version: 1,
    up: (db) => {
      db.exec(TABLES);
      backfillRootVolumes(db);
    },
  },
];

const TABLES = `CREATE TABLE ec2_volumes (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      account TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL,
      instance_id TEXT,
      data TEXT NOT NULL,
      UNIQUE (account, region, id));
    CREATE INDEX ec2_volumes_instance ON ec2_volumes (account, region, instance_id);
    CREATE TABLE ec2_snapshots (
      seq INTEGER PRIMARY KEY AUTOINCREMENT,
      account TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL,
      data TEXT NOT NULL,
      UNIQUE (account, region, id));
    CREATE INDEX ec2_snapshots_region ON ec2_snapshots (region, id);`;

/**
 * Instances recorded before volumes were rows: their root volumes become rows (in-use, or
 * `available` for a terminated instance's volume kept by DeleteOnTermination=false).
 */
function backfillRootVolumes(db: Db): void {
  const exists = db.prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'ec2_instances'").get();
  if (!exists) return;
  const insert = db.prepare('INSERT OR IGNORE INTO ec2_volumes (account, region, id, instance_id, data) VALUES (?, ?, ?, ?, ?)');
  for (const r of db.prepare('SELECT account, region, data FROM ec2_instances ORDER BY seq').all() as Raw[]) {
    const i = JSON.parse(r.data) as { InstanceId: string; OwnerId: string; AvailabilityZone: string; State: string; LaunchTime: string; RootDeviceName: string; RootVolumeId: string; RootVolumeSize: number; RootDeleteOnTermination: boolean; RootAttachTime: string };
    const terminated = i.State === 'terminated';
    if (terminated && i.RootDeleteOnTermination) continue;
    const v: VolumeRecord = {
      VolumeId: i.RootVolumeId, OwnerId: i.OwnerId, AvailabilityZone: i.AvailabilityZone, Size: i.RootVolumeSize, VolumeType: 'gp3', Iops: 3000, Throughput: 125,
      SnapshotId: '', CreateTime: i.LaunchTime, State: terminated ? 'available' : 'in-use', AutoEnableIO: false, Format: 'root',
      Attachment: terminated ? undefined : { InstanceId: i.InstanceId, Device: i.RootDeviceName, State: 'attached', AttachTime: i.RootAttachTime, DeleteOnTermination: i.RootDeleteOnTermination, Root: true },
    };
    insert.run(r.account, r.region, v.VolumeId, v.Attachment?.InstanceId ?? null, JSON.stringify(v));
  }
}

type Located<T> = { scope: Scope; row: T };
type Raw = { account: string; region: string; data: string };
const located = <T>(r: Raw): Located<T> => ({ scope: { account: r.account, region: r.region }, row: JSON.parse(r.data) as T });

export class EbsStore {
  private readonly v;
  private readonly s;

  constructor(readonly db: Db) {
    this.v = {
      insert: db.prepare('INSERT INTO ec2_volumes (account, region, id, instance_id, data) VALUES (?, ?, ?, ?, ?)'),
      update: db.prepare('UPDATE ec2_volumes SET instance_id = ?, data = ? WHERE account = ? AND region = ? AND id = ?'),
      get: db.prepare('SELECT data FROM ec2_volumes WHERE account = ? AND region = ? AND id = ?'),
      del: db.prepare('DELETE FROM ec2_volumes WHERE account = ? AND region = ? AND id = ?'),
      list: db.prepare('SELECT data FROM ec2_volumes WHERE account = ? AND region = ? ORDER BY seq'),
      byInstance: db.prepare('SELECT data FROM ec2_volumes WHERE account = ? AND region = ? AND instance_id = ? ORDER BY seq'),
      all: db.prepare('SELECT account, region, data FROM ec2_volumes ORDER BY seq'),
    };
    this.s = {
      insert: db.prepare('INSERT INTO ec2_snapshots (account, region, id, data) VALUES (?, ?, ?, ?)'),
      update: db.prepare('UPDATE ec2_snapshots SET data = ? WHERE account = ? AND region = ? AND id = ?'),
      get: db.prepare('SELECT account, region, data FROM ec2_snapshots WHERE region = ? AND id = ?'),
      del: db.prepare('DELETE FROM ec2_snapshots WHERE account = ? AND region = ? AND id = ?'),
      inRegion: db.prepare('SELECT account, region, data FROM ec2_snapshots WHERE region = ? ORDER BY seq'),
      all: db.prepare('SELECT account, region, data FROM ec2_snapshots ORDER BY seq'),
    };
  }

  volume(scope: Scope, id: string): VolumeRecord | undefined {
    const r = this.v.get.get(scope.account, scope.region, id) as { data: string } | undefined;
    return r && (JSON.parse(r.data) as VolumeRecord);
  }

  volumes(scope: Scope): VolumeRecord[] {
    return (this.v.list.all(scope.account, scope.region) as { data: string }[]).map((r) => JSON.parse(r.data) as VolumeRecord);
  }

  /** The volumes attached (in any attachment state) to one instance, in the order they were made. */
  volumesOf(scope: Scope, instanceId: string): VolumeRecord[] {
    return (this.v.byInstance.all(scope.account, scope.region, instanceId) as { data: string }[]).map((r) => JSON.parse(r.data) as VolumeRecord);
  }

  /** Inserts or replaces. */
  putVolume(scope: Scope, v: VolumeRecord): void {
    const instance = v.Attachment?.InstanceId ?? null;
    const data = JSON.stringify(v);
    if (this.v.update.run(instance, data, scope.account, scope.region, v.VolumeId).changes === 0) {
      this.v.insert.run(scope.account, scope.region, v.VolumeId, instance, data);
    }
  }

  deleteVolume(scope: Scope, id: string): void {
    this.v.del.run(scope.account, scope.region, id);
  }

  /** Every volume of every account and region: the reconciler's view. */
  allVolumes(): Located<VolumeRecord>[] {
    return (this.v.all.all() as Raw[]).map((r) => located<VolumeRecord>(r));
  }

  /** A snapshot by ID in a region, whoever owns it (IDs are unique). */
  snapshot(region: string, id: string): Located<SnapshotRecord> | undefined {
    const r = this.s.get.get(region, id) as Raw | undefined;
    return r && located<SnapshotRecord>(r);
  }

  /** Every snapshot in a region, of every account (visibility is the caller's to decide). */
  snapshotsIn(region: string): Located<SnapshotRecord>[] {
    return (this.s.inRegion.all(region) as Raw[]).map((r) => located<SnapshotRecord>(r));
  }

  putSnapshot(scope: Scope, s: SnapshotRecord): void {
    const data = JSON.stringify(s);
    if (this.s.update.run(data, scope.account, scope.region, s.SnapshotId).changes === 0) {
      this.s.insert.run(scope.account, scope.region, s.SnapshotId, data);
    }
  }

  deleteSnapshot(scope: Scope, id: string): void {
    this.s.del.run(scope.account, scope.region, id);
  }

  allSnapshots(): Located<SnapshotRecord>[] {
    return (this.s.all.all() as Raw[]).map((r) => located<SnapshotRecord>(r));
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}

/** The EBS tables of a database (statements prepared once per database). */
export const ebsStore = perDatabase((db) => new EbsStore(db));
