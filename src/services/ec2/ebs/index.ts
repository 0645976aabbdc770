/**
 * EBS in the EC2 provider: volumes (./volumes.ts, ./attachments.ts, ./modifications.ts),
 * snapshots (./snapshots.ts, ./snapshot-attributes.ts), their rows (./store.ts) and where they
 * meet instances (./instance-volumes.ts); the host side is ../dataplane/volumes.ts.
 *
 * `Ebs` is what the rest of EC2 holds: the handlers, the supervisor, and the one hook images use:
 * `useSnapshots(user)` registers a function that names the image using a snapshot, so that
 * DeleteSnapshot answers InvalidSnapshot.InUse for it.
 */
import type { Handler } from '../../service.js';
import type { VolumeSupervisor } from '../dataplane/volumes.js';
import { attachmentHandlers } from './attachments.js';
import type { EbsDeps, SnapshotUser } from './common.js';
import { modificationHandlers } from './modifications.js';
import { snapshotAttributeHandlers } from './snapshot-attributes.js';
import { snapshotHandlers } from './snapshots.js';
import { volumeHandlers } from './volumes.js';

export type { EbsHost, SnapshotUser } from './common.js';
export { ebsMigrations, ebsStore } from './store.js';

export function ebsHandlers(deps: EbsDeps) {
  return {
    ...volumeHandlers(deps),
    ...attachmentHandlers(deps),
    ...modificationHandlers(deps),
    ...snapshotHandlers(deps),
    ...snapshotAttributeHandlers(deps),
  } satisfies Record<string, Handler>;
}

export interface Ebs {
  supervisor: VolumeSupervisor;
  /** Images say which snapshots they use; DeleteSnapshot then refuses those (InvalidSnapshot.InUse). */
  useSnapshots(user: SnapshotUser): void;
}
