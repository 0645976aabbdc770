/**
 * Storage classes: kumo keeps every object on the same disk, so a class is a label that is stored
 * and returned. Classes whose objects AWS makes unreadable until restored (GLACIER, DEEP_ARCHIVE)
 * are refused loudly, since kumo does not model restores.
 */
import { S3DataErrors } from './data-errors.js';
import { S3Errors } from './errors.js';

const READABLE = ['STANDARD', 'REDUCED_REDUNDANCY', 'STANDARD_IA', 'ONEZONE_IA', 'INTELLIGENT_TIERING', 'GLACIER_IR'];
const ARCHIVED = ['GLACIER', 'DEEP_ARCHIVE', 'OUTPOSTS'];

export function checkStorageClass(value: string | undefined): void {
  if (value === undefined) return;
  if (ARCHIVED.includes(value)) throw S3Errors.notImplementedHeader('x-amz-storage-class');
  if (!READABLE.includes(value)) throw S3DataErrors.invalidStorageClass(value);
}
