/** A DB instance as DescribeDBInstances shows it. */
import type { DBInstance } from '../../../models/generated/rds.js';
import type { Tag } from '../../../state/tags.js';
import type { DbInstanceRecord } from '../store.js';
import { endpointSuffix } from './create.js';

/** `<id>.<12 characters of the account and region>.<region>.rds.amazonaws.com`, as RDS names endpoints. */
export function endpointAddress(r: DbInstanceRecord): string {
  const [, , , region, account] = r.DBInstanceArn.split(':');
  return `${r.DBInstanceIdentifier}.${endpointSuffix({ account: account!, region: region! })}.${region}.rds.amazonaws.com`;
}

/** What waits for the maintenance window or is being applied; a password shows as `****`, as RDS does. */
function pendingOf(r: DbInstanceRecord) {
  const p = { ...r.Pending, ...r.Applying };
  const { MasterUserPassword, ...rest } = p;
  return { ...rest, ...(MasterUserPassword !== undefined ? { MasterUserPassword: '****' } : {}) };
}

/** RDS's hosted zone for endpoints, per region (what Route 53 alias records point at). */
const HOSTED_ZONE = 'Z24O6O9L7SGTNB';

export function toView(r: DbInstanceRecord, tags: Tag[]): DBInstance {
  const endpointShown = r.DBInstanceStatus !== 'creating' || r.InstanceCreateTime !== undefined;
  return {
    DBInstanceIdentifier: r.DBInstanceIdentifier,
    DBInstanceClass: r.DBInstanceClass,
    Engine: r.Engine,
    DBInstanceStatus: r.DBInstanceStatus,
    MasterUsername: r.MasterUsername,
    DBName: r.DBName,
    // RDS gives the endpoint once the instance is first up.
    Endpoint: endpointShown ? { Address: endpointAddress(r), Port: r.Port, HostedZoneId: HOSTED_ZONE } : undefined,
    AllocatedStorage: r.AllocatedStorage,
    InstanceCreateTime: r.InstanceCreateTime,
    PreferredBackupWindow: r.PreferredBackupWindow,
    BackupRetentionPeriod: r.BackupRetentionPeriod,
    DBSecurityGroups: [],
    VpcSecurityGroups: r.VpcSecurityGroupIds.map((VpcSecurityGroupId) => ({ VpcSecurityGroupId, Status: 'active' })),
    DBParameterGroups: [{ DBParameterGroupName: r.DBParameterGroupName, ParameterApplyStatus: 'in-sync' }],
    AvailabilityZone: r.AvailabilityZone,
    DBSubnetGroup: {
      DBSubnetGroupName: r.DBSubnetGroupName,
      VpcId: r.VpcId,
      SubnetGroupStatus: 'Complete',
    },
    PreferredMaintenanceWindow: r.PreferredMaintenanceWindow,
    PendingModifiedValues: pendingOf(r),
    MultiAZ: r.MultiAZ,
    EngineVersion: r.EngineVersion,
    AutoMinorVersionUpgrade: r.AutoMinorVersionUpgrade,
    ReadReplicaDBInstanceIdentifiers: [],
    LicenseModel: r.Engine === 'mysql' ? 'general-public-license' : 'postgresql-license',
    Iops: r.Iops,
    OptionGroupMemberships: [{ OptionGroupName: `default:${r.Engine}-${r.EngineVersion.split('.').slice(0, r.Engine === 'mysql' ? 2 : 1).join('-')}`, Status: 'in-sync' }],
    SecondaryAvailabilityZone: r.MultiAZ ? r.Standby?.AvailabilityZone : undefined,
    PubliclyAccessible: r.PubliclyAccessible,
    StorageType: r.StorageType,
    DbInstancePort: 0,
    StorageEncrypted: false,
    DbiResourceId: r.DbiResourceId,
    CACertificateIdentifier: r.CACertificateIdentifier,
    DomainMemberships: [],
    CopyTagsToSnapshot: r.CopyTagsToSnapshot,
    MonitoringInterval: 0,
    DBInstanceArn: r.DBInstanceArn,
    IAMDatabaseAuthenticationEnabled: false,
    PerformanceInsightsEnabled: false,
    DeletionProtection: r.DeletionProtection,
    TagList: tags,
    NetworkType: 'IPV4',
  } as DBInstance;
}
