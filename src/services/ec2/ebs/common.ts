/**
 * What every EBS handler shares: its dependencies, finding a volume or a snapshot by ID with
 * AWS's errors, who may see and use a snapshot, and the hook through which images say that a
 * snapshot is theirs (DeleteSnapshot is then InvalidSnapshot.InUse).
 */
import type { Scope } from '../../../state/scope.js';
import type { InstanceStore } from '../instances/store.js';
import { mustGet } from '../describe.js';
import { wellFormed, type Ec2Store } from '../store.js';
import { EbsErrors } from './errors.js';
import type { EbsStore, SnapshotRecord, VolumeRecord } from './store.js';

/** What the host can do for EBS (the native runtime: everything; the process runtime: nothing). */
export interface EbsHost {
  /** Volumes are disk files (runtime/volumes.ts); without them they are rows only. */
  disks: boolean;
  /** Snapshots can be taken (runtime/snapshots). */
  snapshots: boolean;
  /** A volume can be made a device of a running instance (the driver's exposeDevice). */
  attach: boolean;
}

/** Answers the ID of an image that uses the snapshot, if one does. */
export type SnapshotUser = (scope: Scope, snapshotId: string) => string | undefined;

export interface EbsDeps {
  store: Ec2Store;
  ebs: EbsStore;
  instances: InstanceStore;
  host: EbsHost;
  /** Images register here (see Ebs.useSnapshotsOf in ./index.ts). */
  snapshotUsers: SnapshotUser[];
}

export function findVolume(ebs: EbsStore, scope: Scope, id: string): VolumeRecord {
  return mustGet((x) => ebs.volume(scope, x), id, 'vol', EbsErrors.volumeNotFound, EbsErrors.volumeMalformed);
}

/** May `account` see and create volumes from this snapshot: its own, public, or shared with it. */
export function canUse(account: string, owner: string, s: SnapshotRecord): boolean {
  return owner === account || s.CreateVolumePermissions.some((p) => p.Group === 'all' || p.UserId === account);
}

/** A snapshot the caller may use, wherever its owner is (in `region`, the caller's by default). */
export function findSnapshot(ebs: EbsStore, account: string, region: string, id: string): { scope: Scope; row: SnapshotRecord } {
  if (!wellFormed(id ?? '', 'snap')) throw EbsErrors.snapshotMalformed(id);
  const found = ebs.snapshot(region, id);
  if (!found || !canUse(account, found.scope.account, found.row)) throw EbsErrors.snapshotNotFound(id);
  return found;
}

/** A snapshot the caller owns (modify, delete): others' are refused, as AWS does. */
export function ownSnapshot(ebs: EbsStore, scope: Scope, id: string): SnapshotRecord {
  const found = findSnapshot(ebs, scope.account, scope.region, id);
  if (found.scope.account !== scope.account) throw EbsErrors.notOwner();
  return found.row;
}

/** MaxResults above the call's maximum answers a page of the maximum, as AWS documents for these calls. */
export function capped(maxResults: number | undefined, max: number): number | undefined {
  return maxResults === undefined ? undefined : Math.min(maxResults, max);
}

/** How a Describe call over volumes picks them: by VolumeIds (with EBS's errors), filters and pages. */
export function volumeSelection(input: { VolumeIds?: string[]; Filters?: { Name?: string; Values?: string[] }[]; MaxResults?: number; NextToken?: string }) {
  return {
    ids: input.VolumeIds,
    idsParam: 'volumeIds',
    prefix: 'vol',
    malformed: EbsErrors.volumeMalformed,
    notFound: EbsErrors.volumeNotFound,
    filters: input.Filters,
    maxResults: input.MaxResults,
    nextToken: input.NextToken,
  };
}
