/**
 * EBS's refusals with AWS's codes. Messages follow AWS's where known; the others are kumo's,
 * worded as AWS words its neighbours.
 */
import { AwsError } from '../../../protocol/errors.js';

const e = (code: string, message: string, status = 400) => new AwsError(code, message, status);

export const EbsErrors = {
  volumeNotFound: (id: string) => e('InvalidVolume.NotFound', `The volume '${id}' does not exist.`),
  volumeMalformed: (id: string) => e('InvalidVolumeID.Malformed', `Invalid id: "${id}" (expecting "vol-...")`),
  snapshotNotFound: (id: string) => e('InvalidSnapshot.NotFound', `The snapshot '${id}' does not exist.`),
  snapshotMalformed: (id: string) => e('InvalidSnapshotID.Malformed', `Invalid id: "${id}" (expecting "snap-...")`),
  snapshotInUse: (id: string, image: string) => e('InvalidSnapshot.InUse', `The snapshot ${id} is currently in use by ${image}`),
  snapshotNotReady: (id: string, state: string) => e('IncorrectState', `Snapshot '${id}' is in invalid state - ${state}`),
  notOwner: () => e('UnauthorizedOperation', 'You are not authorized to perform this operation.', 403),
  volumeInUse: (id: string, instance: string) => e('VolumeInUse', `Volume ${id} is currently attached to ${instance}`),
  alreadyAttached: (id: string) => e('VolumeInUse', `${id} is already attached to an instance`),
  volumeState: (id: string, state: string) => e('IncorrectState', `The volume '${id}' is '${state}'.`),
  notAttached: (id: string, state: string) => e('IncorrectState', `Volume '${id}' is in the '${state}' state.`),
  attachmentNotFound: (what: string) => e('InvalidAttachment.NotFound', what),
  rootDetach: (id: string, instance: string) => e('OperationNotPermitted', `Unable to detach root volume '${id}' from instance '${instance}'`),
  zoneMismatch: (volume: string, instance: string) =>
    e('InvalidVolume.ZoneMismatch', `The volume '${volume}' is not in the same availability zone as instance '${instance}'`),
  instanceState: (id: string, state: string) => e('IncorrectInstanceState', `Instance '${id}' is not 'running' or 'stopped'. It is in state '${state}'.`),
  badDevice: (device: string) => e('InvalidParameterValue', `Value (${device}) for parameter device is invalid. ${device} is not a valid EBS device name.`),
  deviceInUse: (device: string) => e('InvalidParameterValue', `Invalid value '${device}' for unixDevice. Attachment point ${device} is already in use`),
  modificationInProgress: (id: string) =>
    e('IncorrectModificationState', `Cannot modify volume ${id}: a modification is already in progress (state 'modifying' or 'optimizing').`),
  invalidUser: (id: string) => e('InvalidUserID.Malformed', `User ID '${id}' is invalid`),
  /** What needs the native runtime's disks (the process runtime keeps volumes as rows only). */
  needsNativeRuntime: (what: string) =>
    e('UnsupportedOperation', `kumo's process runtime cannot ${what}: volumes there are records with no disk behind them. Run kumo as root on Linux with systemd-nspawn (the native runtime).`),
};
