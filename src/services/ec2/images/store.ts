/**
 * Images of the caller's own (CreateImage, RegisterImage, CopyImage) as rows scoped by account
 * and region; the public catalog is not stored (./catalog.ts). An image is launch metadata plus
 * the snapshots its block device mappings name: the data lives in those snapshots (EBS), which
 * outlive the image (DeregisterImage keeps them, as AWS does).
 */
import { perDatabase, type Db, type Migration } from '../../../state/db.js';
import type { Scope } from '../../../state/scope.js';
import type { Tag } from '../../../state/tags.js';

export interface ImageMapping {
  DeviceName: string;
  Ebs?: {
    SnapshotId: string;
    VolumeSize: number;
    VolumeType: string;
    DeleteOnTermination: boolean;
    Iops?: number;
    Throughput?: number;
  };
  /** `ephemeral0`…: an instance-store volume (recorded only). */
  VirtualName?: string;
  /** An empty string: the device the source had is left out. */
  NoDevice?: string;
}

export interface LaunchPermission {
  UserId?: string;
  /** `all`: public. */
  Group?: string;
}

/** CreateImage under way: which instance, whether kumo stopped it (and so starts it again). */
export interface ImageBuild {
  InstanceId: string;
  /** `stopping`: waiting for the instance to stop; `snapshotting`: waiting for the snapshots. */
  Phase: 'stopping' | 'snapshotting';
  /** kumo stopped the instance for the image (no NoReboot) and starts it once the snapshots are taken. */
  Restart: boolean;
  /** The instance's volumes, device by device, with what the mappings say of them. */
  Volumes: { DeviceName: string; VolumeId: string }[];
  /** The tags CreateImage asked for its snapshots (made once the instance has stopped). */
  SnapshotTags: Tag[];
}

export interface ImageRecord {
  ImageId: string;
  OwnerId: string;
  Name: string;
  Description?: string;
  State: 'pending' | 'available' | 'failed';
  StateReason?: { Code: string; Message: string };
  CreationDate: string;
  Architecture: string;
  RootDeviceName: string;
  BlockDeviceMappings: ImageMapping[];
  VirtualizationType: string;
  EnaSupport: boolean;
  SriovNetSupport?: string;
  BootMode?: string;
  ImdsSupport?: string;
  /** The kumo image the root snapshot's data goes over, and the login user of the AMI it came from. */
  KumoImage: string;
  DefaultUser: string;
  SourceInstanceId?: string;
  /** CopyImage: where it came from. */
  SourceImageId?: string;
  SourceImageRegion?: string;
  LaunchPermissions: LaunchPermission[];
  Build?: ImageBuild;
  ClientToken?: string;
}

export const imageMigrations: Migration[] = [
  {
    version: 1,
    up: (db) =>
      db.exec(`CREATE TABLE ec2_images (
        seq INTEGER PRIMARY KEY AUTOINCREMENT,
        account TEXT NOT NULL, region TEXT NOT NULL, id TEXT NOT NULL,
        name TEXT NOT NULL,
        data TEXT NOT NULL,
        UNIQUE (account, region, id),
        UNIQUE (account, region, name));
      CREATE INDEX ec2_images_region ON ec2_images (region, id);`),
  },
];

type Raw = { account: string; region: string; data: string };
export type Located<T> = { scope: Scope; row: T };
const located = (r: Raw): Located<ImageRecord> => ({ scope: { account: r.account, region: r.region }, row: JSON.parse(r.data) as ImageRecord });

export class ImageStore {
  private readonly q;

  constructor(readonly db: Db) {
    this.q = {
      insert: db.prepare('INSERT INTO ec2_images (account, region, id, name, data) VALUES (?, ?, ?, ?, ?)'),
      update: db.prepare('UPDATE ec2_images SET data = ? WHERE account = ? AND region = ? AND id = ?'),
      get: db.prepare('SELECT account, region, data FROM ec2_images WHERE region = ? AND id = ?'),
      byName: db.prepare('SELECT 1 FROM ec2_images WHERE account = ? AND region = ? AND name = ?'),
      del: db.prepare('DELETE FROM ec2_images WHERE account = ? AND region = ? AND id = ?'),
      inRegion: db.prepare('SELECT account, region, data FROM ec2_images WHERE region = ? ORDER BY seq'),
      all: db.prepare('SELECT account, region, data FROM ec2_images ORDER BY seq'),
    };
  }

  /** An image by ID in a region, whoever owns it (IDs are unique). */
  get(region: string, id: string): Located<ImageRecord> | undefined {
    const r = this.q.get.get(region, id) as Raw | undefined;
    return r && located(r);
  }

  nameTaken(scope: Scope, name: string): boolean {
    return this.q.byName.get(scope.account, scope.region, name) !== undefined;
  }

  /** Every image in a region, of every account (visibility is the caller's to decide). */
  inRegion(region: string): Located<ImageRecord>[] {
    return (this.q.inRegion.all(region) as Raw[]).map(located);
  }

  all(): Located<ImageRecord>[] {
    return (this.q.all.all() as Raw[]).map(located);
  }

  /** Inserts or replaces (the name never changes). */
  put(scope: Scope, image: ImageRecord): void {
    const data = JSON.stringify(image);
    if (this.q.update.run(data, scope.account, scope.region, image.ImageId).changes === 0) {
      this.q.insert.run(scope.account, scope.region, image.ImageId, image.Name, data);
    }
  }

  delete(scope: Scope, id: string): void {
    this.q.del.run(scope.account, scope.region, id);
  }

  transaction<T>(fn: () => T): T {
    return this.db.transaction(fn)();
  }
}

/** The image table of a database (statements prepared once per database). */
export const imageStore = perDatabase((db) => new ImageStore(db));
