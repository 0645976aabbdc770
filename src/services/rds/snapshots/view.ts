/** A DB snapshot as DescribeDBSnapshots shows it. */
import type { DBSnapshot } from '../../../models/generated/rds.js';
import type { Tag } from '../../../state/tags.js';
import type { DbSnapshotRecord } from '../store.js';

export function snapshotView(s: DbSnapshotRecord, tags: Tag[]): DBSnapshot {
  return {
    DBSnapshotIdentifier: s.DBSnapshotIdentifier,
    DBInstanceIdentifier: s.DBInstanceIdentifier,
    SnapshotCreateTime: s.SnapshotCreateTime ? new Date(s.SnapshotCreateTime) : undefined,
    Engine: s.Engine,
    AllocatedStorage: s.AllocatedStorage,
    Status: s.Status,
    Port: s.Port,
    AvailabilityZone: s.AvailabilityZone,
    VpcId: s.VpcId,
    InstanceCreateTime: s.InstanceCreateTime ? new Date(s.InstanceCreateTime) : undefined,
    MasterUsername: s.MasterUsername,
    EngineVersion: s.EngineVersion,
    LicenseModel: s.Engine === 'mysql' ? 'general-public-license' : 'postgresql-license',
    SnapshotType: s.SnapshotType,
    Iops: s.Iops,
    OptionGroupName: `default:${s.Engine}-${s.EngineVersion.split('.').slice(0, s.Engine === 'mysql' ? 2 : 1).join('-')}`,
    PercentProgress: s.PercentProgress,
    SourceRegion: s.SourceRegion,
    SourceDBSnapshotIdentifier: s.SourceDBSnapshotIdentifier,
    StorageType: s.StorageType,
    Encrypted: false,
    DBSnapshotArn: s.DBSnapshotArn,
    IAMDatabaseAuthenticationEnabled: false,
    ProcessorFeatures: [],
    DbiResourceId: s.DbiResourceId,
    TagList: tags,
    OriginalSnapshotCreateTime: s.OriginalSnapshotCreateTime ? new Date(s.OriginalSnapshotCreateTime) : undefined,
    SnapshotTarget: 'region',
    DedicatedLogVolume: false,
  } as DBSnapshot;
}
