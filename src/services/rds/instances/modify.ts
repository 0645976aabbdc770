/**
 * ModifyDBInstance: the changes RDS allows on an `available` instance.
 *
 *   applied at once, on the row        DeletionProtection, BackupRetentionPeriod (from 0: the first
 *                                      automated backup, `backing-up`; to 0: automated snapshots
 *                                      deleted), the backup and maintenance windows
 *   applied by the supervisor          MultiAZ (a standby built in another zone of the subnet
 *   (status `modifying`)               group, or removed), DBInstanceClass (nodes restarted with
 *                                      the new limits), AllocatedStorage (disks grown), the master
 *                                      password (always at once, as RDS does)
 *
 * Without ApplyImmediately the supervisor's changes wait in PendingModifiedValues, as for the next
 * maintenance window; kumo has none, so they are applied with the next change asked for
 * immediately (or never).
 */
import type { RdsOperations } from '../../../models/generated/rds.js';
import type { NetworkStore } from '../../../state/network.js';
import type { TagStore } from '../../../state/tags.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { RdsErrors } from '../errors.js';
import type { DbChanges, DbInstanceRecord, RdsStore } from '../store.js';
import { DB_CLASSES, ENGINES } from './engines.js';
import { beginAutomatedBackup } from '../snapshots/snapshots.js';
import { toView } from './view.js';

type Op<K extends keyof RdsOperations> = OpHandler<RdsOperations, K>;

/** RDS grows storage by at least 10% at a time. */
const MIN_GROWTH = 1.1;

export function modifyHandler(deps: { store: RdsStore; network: NetworkStore; tags: TagStore; now: () => Date; changed(): void }): Op<'ModifyDBInstance'> {
  const { store, tags } = deps;
  return (ctx, input) => {
    const scope = scopeOf(ctx);
    const id = (input.DBInstanceIdentifier ?? '').toLowerCase();
    const r = store.instances.get(scope, id);
    if (!r) throw RdsErrors.instanceNotFound(input.DBInstanceIdentifier);
    if (r.DBInstanceStatus !== 'available') throw RdsErrors.instanceState(r.DBInstanceIdentifier, r.DBInstanceStatus, 'available');
    for (const unsupported of ['DBSubnetGroupName', 'EngineVersion', 'NewDBInstanceIdentifier', 'StorageType', 'Iops', 'DBPortNumber'] as const) {
      if (input[unsupported] !== undefined) throw RdsErrors.invalidCombination(`kumo does not modify ${unsupported} yet.`);
    }
    if (input.DBParameterGroupName !== undefined && input.DBParameterGroupName !== r.DBParameterGroupName) throw RdsErrors.parameterGroupNotFound(input.DBParameterGroupName);

    const later: DbChanges = {};
    if (input.MultiAZ !== undefined && input.MultiAZ !== r.MultiAZ) {
      if (input.MultiAZ) standbyZone(deps.network, scope, r, store);
      later.MultiAZ = input.MultiAZ;
    }
    if (input.DBInstanceClass !== undefined && input.DBInstanceClass !== r.DBInstanceClass) {
      if (!DB_CLASSES[input.DBInstanceClass]) throw RdsErrors.invalidParameter(`Invalid DB Instance class: ${input.DBInstanceClass}`);
      later.DBInstanceClass = input.DBInstanceClass;
    }
    if (input.AllocatedStorage !== undefined && input.AllocatedStorage !== r.AllocatedStorage) {
      if (input.AllocatedStorage < r.AllocatedStorage * MIN_GROWTH) {
        throw RdsErrors.invalidParameter(`Invalid storage size: it must grow by at least 10%, to ${Math.ceil(r.AllocatedStorage * MIN_GROWTH)} GiB or more (it cannot shrink).`);
      }
      if (input.AllocatedStorage > 65536) throw RdsErrors.storageQuota('Invalid storage size: 65536 GiB at most.');
      later.AllocatedStorage = input.AllocatedStorage;
    }
    const now: DbChanges = {};
    if (input.MasterUserPassword !== undefined) {
      const max = ENGINES[r.Engine].maxPasswordLength;
      if (input.MasterUserPassword.length < 8 || input.MasterUserPassword.length > max || /[/"@ ]|[^\x21-\x7e]/.test(input.MasterUserPassword)) {
        throw RdsErrors.invalidParameter("The parameter MasterUserPassword is not a valid password: 8 or more printable ASCII characters besides '/', '@', '\"', ' '.");
      }
      now.MasterUserPassword = input.MasterUserPassword;
    }
    const retention = input.BackupRetentionPeriod;
    if (retention !== undefined && (!Number.isInteger(retention) || retention < 0 || retention > 35)) throw RdsErrors.invalidParameter(`Invalid backup retention period ${retention}: it must be between 0 and 35 days.`);
    for (const g of input.VpcSecurityGroupIds ?? []) {
      const found = deps.network.securityGroups.get(scope, g);
      if (!found || found.VpcId !== r.VpcId) throw RdsErrors.securityGroupNotFound(g);
    }

    const applying: DbChanges = input.ApplyImmediately ? { ...r.Pending, ...later, ...now } : now;
    // Backups turned on: RDS takes the first one at once; turned off: the automated ones go.
    const backupsOn = r.BackupRetentionPeriod === 0 && (retention ?? 0) > 0;
    const backupsOff = r.BackupRetentionPeriod > 0 && retention === 0;
    const pending: DbChanges | undefined = input.ApplyImmediately ? undefined : { ...r.Pending, ...later };
    const next: DbInstanceRecord = {
      ...r,
      DeletionProtection: input.DeletionProtection ?? r.DeletionProtection,
      BackupRetentionPeriod: retention ?? r.BackupRetentionPeriod,
      PreferredBackupWindow: input.PreferredBackupWindow ?? r.PreferredBackupWindow,
      PreferredMaintenanceWindow: input.PreferredMaintenanceWindow ?? r.PreferredMaintenanceWindow,
      VpcSecurityGroupIds: input.VpcSecurityGroupIds ?? r.VpcSecurityGroupIds,
      Pending: pending && Object.keys(pending).length ? pending : undefined,
      Applying: Object.keys(applying).length ? applying : undefined,
      DBInstanceStatus: Object.keys(applying).length ? 'modifying' : backupsOn ? 'backing-up' : 'available',
    };
    store.transaction(() => {
      store.instances.update(scope, id, next);
      if (backupsOn) beginAutomatedBackup(store, scope, next, deps.now());
      if (backupsOff) {
        for (const s of store.snapshots.list(scope)) {
          if (s.DbiResourceId !== r.DbiResourceId || s.SnapshotType !== 'automated' || s.Status === 'creating') continue;
          store.snapshots.delete(scope, s.DBSnapshotIdentifier);
          tags.removeAll(scope, s.DBSnapshotArn);
        }
      }
      if (input.VpcSecurityGroupIds) {
        for (const eni of [r.NetworkInterfaceId, r.Standby?.NetworkInterfaceId]) {
          const row = eni && deps.network.networkInterfaces.get(scope, eni);
          if (row) deps.network.networkInterfaces.update(scope, eni, { ...row, GroupIds: input.VpcSecurityGroupIds });
        }
      }
    });
    deps.changed();
    return { DBInstance: toView(next, tags.get(scope, r.DBInstanceArn)) };
  };
}

/** A zone of the subnet group other than the primary's, for the standby; refused if there is none. */
export function standbyZone(network: NetworkStore, scope: { account: string; region: string }, r: DbInstanceRecord, store: RdsStore): string {
  const group = store.subnetGroups.get(scope, r.DBSubnetGroupName);
  const zones = group
    ? group.Subnets.map((s) => s.SubnetAvailabilityZone.Name)
    : network.subnets.list(scope).filter((s) => s.VpcId === r.VpcId).map((s) => s.AvailabilityZone);
  const other = zones.find((z) => z !== r.AvailabilityZone);
  if (!other) throw RdsErrors.notEnoughAzs([r.AvailabilityZone]);
  return other;
}
