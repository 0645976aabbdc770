/**
 * AWS's volume types as data, and the checks CreateVolume, ModifyVolume and RunInstances' block
 * device mappings make with them: sizes per type, which types take IOPS and throughput, their
 * ranges and defaults, and the ratios between them (IOPS per GiB, MiB/s per IOPS).
 *
 *   gp2       1–16,384 GiB; IOPS are not set but derived: 3 per GiB, 100 to 16,000
 *   gp3       1–16,384 GiB; 3,000–16,000 IOPS (default 3,000; above 3,000 at most 500 per GiB);
 *             125–1,000 MiB/s (default 125; above 125 at most 0.25 MiB/s per IOPS)
 *   io1       4–16,384 GiB; 100–64,000 IOPS, required, at most 50 per GiB
 *   io2       4–65,536 GiB; 100–256,000 IOPS, required, at most 1,000 per GiB
 *   st1, sc1  125–16,384 GiB;  standard 1–1,024 GiB; no IOPS or throughput
 *
 * CreateVolume's default type is gp2, as the API documents.
 */
import { Ec2Errors } from '../errors.js';

interface TypeRule {
  minSize: number;
  maxSize: number;
  iops?: { min: number; max: number; perGiB: number; required: boolean; default?: number; baseline?: number };
  throughput?: { min: number; max: number; default: number; perIops: number };
}

const TYPES: Record<string, TypeRule> = {
  gp2: { minSize: 1, maxSize: 16384 },
  gp3: { minSize: 1, maxSize: 16384, iops: { min: 3000, max: 16000, perGiB: 500, required: false, default: 3000, baseline: 3000 }, throughput: { min: 125, max: 1000, default: 125, perIops: 0.25 } },
  io1: { minSize: 4, maxSize: 16384, iops: { min: 100, max: 64000, perGiB: 50, required: true } },
  io2: { minSize: 4, maxSize: 65536, iops: { min: 100, max: 256000, perGiB: 1000, required: true } },
  st1: { minSize: 125, maxSize: 16384 },
  sc1: { minSize: 125, maxSize: 16384 },
  standard: { minSize: 1, maxSize: 1024 },
};

export const DEFAULT_VOLUME_TYPE = 'gp2';

export interface VolumeSpec {
  VolumeType: string;
  Size: number;
  Iops?: number;
  Throughput?: number;
}

/** gp2's IOPS follow its size. */
export function gp2Iops(size: number): number {
  return Math.min(16000, Math.max(100, 3 * size));
}

const ratio = (x: number) => x.toFixed(6);

/**
 * The volume a request describes, with defaults filled in and AWS's errors for what does not
 * fit. `keep` is what ModifyVolume carries over from the volume when the type stays the same.
 */
export function checkVolumeSpec(want: { VolumeType?: string; Size: number; Iops?: number; Throughput?: number }, keep?: { Iops?: number; Throughput?: number }): VolumeSpec {
  const type = want.VolumeType ?? DEFAULT_VOLUME_TYPE;
  const rule = TYPES[type];
  if (!rule) throw Ec2Errors.invalidParameter(`Value (${type}) for parameter volumeType is invalid. Valid volume types are: ${Object.keys(TYPES).join(', ')}.`);
  const size = want.Size;
  if (!Number.isInteger(size) || size < 1) throw Ec2Errors.invalidParameter(`Value (${size}) for parameter size is invalid. Expected a positive integer.`);
  if (size < rule.minSize) throw Ec2Errors.invalidParameter(`Volume of size ${size}GiB is too small; minimum is ${rule.minSize}GiB`);
  if (size > rule.maxSize) throw Ec2Errors.invalidParameter(`Volume of size ${size}GiB is too large; maximum is ${rule.maxSize}GiB`);

  if (!rule.iops) {
    if (want.Iops !== undefined) throw Ec2Errors.invalidCombination(`The parameter iops is not supported for ${type} volumes.`);
    if (want.Throughput !== undefined) throw Ec2Errors.invalidCombination(`The parameter throughput is not supported for ${type} volumes.`);
    return { VolumeType: type, Size: size, Iops: type === 'gp2' ? gp2Iops(size) : undefined };
  }
  const r = rule.iops;
  const iops = want.Iops ?? keep?.Iops ?? r.default;
  if (iops === undefined) throw Ec2Errors.missingParameter('iops');
  if (!Number.isInteger(iops) || iops < r.min) throw Ec2Errors.invalidParameter(`Volume iops of ${iops} is too low; minimum is ${r.min}.`);
  if (iops > r.max) throw Ec2Errors.invalidParameter(`Volume iops of ${iops} is too high; maximum is ${r.max}.`);
  // gp3's baseline 3,000 comes with any size; only what is provisioned above it is held to the ratio.
  if (iops > (r.baseline ?? 0) && iops / size > r.perGiB) {
    throw Ec2Errors.invalidParameter(`Iops to volume size ratio of ${ratio(iops / size)} is too high; maximum is ${ratio(r.perGiB)}.`);
  }
  if (!rule.throughput) {
    if (want.Throughput !== undefined) throw Ec2Errors.invalidCombination(`The parameter throughput is not supported for ${type} volumes.`);
    return { VolumeType: type, Size: size, Iops: iops };
  }
  const t = rule.throughput;
  const throughput = want.Throughput ?? keep?.Throughput ?? t.default;
  if (!Number.isInteger(throughput) || throughput < t.min) throw Ec2Errors.invalidParameter(`Volume throughput of ${throughput} is too low; minimum is ${t.min}.`);
  if (throughput > t.max) throw Ec2Errors.invalidParameter(`Volume throughput of ${throughput} is too high; maximum is ${t.max}.`);
  if (throughput > t.min && throughput / iops > t.perIops) {
    throw Ec2Errors.invalidParameter(`Throughput (MiBps) to iops ratio of ${ratio(throughput / iops)} is too high; maximum is ${ratio(t.perIops)} MiBps per iops.`);
  }
  return { VolumeType: type, Size: size, Iops: iops, Throughput: throughput };
}

/** Whether `type` is one of AWS's volume types. */
export function isVolumeType(type: string): boolean {
  return type in TYPES;
}
