/**
 * RestoreDBInstanceFromDBSnapshot: a new DB instance whose node's disk is the snapshot's (the
 * engine, its data and its users as they were), placed like CreateDBInstance places one. The
 * supervisor makes the disk from the snapshot and boots it with ../dataplane/engine-setup.ts's
 * restoredSetup (the new port; no trace of a replica's settings).
 */
import type { RdsOperations } from '../../../models/generated/rds.js';
import { scopeOf, type OpHandler } from '../../service.js';
import { RdsErrors } from '../errors.js';
import { checkClass, checkIdentifier, checkParameterGroup, checkPort, newInstance, placementOf, type CreateDeps } from '../instances/create.js';
import { ENGINES, STORAGE, versionOf } from '../instances/engines.js';
import { findSnapshot } from './snapshots.js';

type Op<K extends keyof RdsOperations> = OpHandler<RdsOperations, K>;

export function restoreHandler(deps: CreateDeps): Op<'RestoreDBInstanceFromDBSnapshot'> {
  const { store, network } = deps;
  return (ctx, input) => {
    const scope = scopeOf(ctx);
    const id = checkIdentifier(input.DBInstanceIdentifier);
    if (input.DBClusterSnapshotIdentifier) throw RdsErrors.invalidCombination('kumo has no Aurora cluster snapshots.');
    if (!input.DBSnapshotIdentifier) throw RdsErrors.missingParameter('DBSnapshotIdentifier');
    const s = findSnapshot(store, scope, input.DBSnapshotIdentifier);
    if (s.Status !== 'available') throw RdsErrors.snapshotState(`Snapshot ${s.DBSnapshotIdentifier} is not in available state (it is ${s.Status}).`);
    if (store.instances.get(scope, id)) throw RdsErrors.instanceExists();
    if (input.Engine !== undefined && input.Engine !== s.Engine) throw RdsErrors.invalidCombination(`Cannot restore a ${s.Engine} snapshot as ${input.Engine}.`);
    const dbClass = input.DBInstanceClass ?? s.DBInstanceClass;
    checkClass(dbClass);
    const port = checkPort(input.Port ?? s.Port);
    const storageType = input.StorageType ?? s.StorageType;
    const size = input.AllocatedStorage ?? s.AllocatedStorage;
    const range = STORAGE[storageType];
    if (!range) throw RdsErrors.invalidParameter(`Invalid storage type: ${storageType}`);
    if (size < s.AllocatedStorage || size > range.max) {
      throw RdsErrors.invalidParameter(`Invalid storage size: a restore needs at least the snapshot's ${s.AllocatedStorage} GiB and at most ${range.max} GiB.`);
    }
    const version = versionOf(ENGINES[s.Engine], s.EngineVersion);
    const parameterGroup = checkParameterGroup(input.DBParameterGroupName, version.family);
    const place = placementOf(store, network, scope, input);
    if (!deps.canRun) throw RdsErrors.needsNativeRuntime('run databases');
    return newInstance(deps, ctx, place, input.Tags, {
      DBInstanceIdentifier: id,
      Engine: s.Engine,
      EngineVersion: s.EngineVersion,
      DBInstanceClass: dbClass,
      AllocatedStorage: size,
      StorageType: storageType,
      Iops: input.Iops ?? s.Iops,
      MasterUsername: s.MasterUsername,
      MasterUserPassword: s.MasterUserPassword,
      DBName: s.DBName,
      Port: port,
      BackupRetentionPeriod: 1,
      PreferredBackupWindow: '18:00-18:30',
      PreferredMaintenanceWindow: 'sun:19:00-sun:19:30',
      DBParameterGroupName: parameterGroup,
      DeletionProtection: input.DeletionProtection ?? false,
      AutoMinorVersionUpgrade: input.AutoMinorVersionUpgrade ?? true,
      CopyTagsToSnapshot: input.CopyTagsToSnapshot ?? false,
      RestoredFrom: { DBSnapshotIdentifier: s.DBSnapshotIdentifier, DiskSnapshotId: s.DiskSnapshotId },
    });
  };
}
