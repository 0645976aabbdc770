/**
 * AWS-format identifiers: `vpc-` + 17 lower-case hex digits for EC2 resources, UUIDs for
 * request IDs. Random, so IDs never repeat across resets or restarts.
 */
import { randomBytes, randomUUID } from 'node:crypto';

export function resourceId(prefix: string, hexDigits = 17): string {
  return `${prefix}-${randomBytes(Math.ceil(hexDigits / 2)).toString('hex').slice(0, hexDigits)}`;
}

export function requestId(): string {
  return randomUUID();
}

/** Lower-case alphanumerics, as in RDS endpoint and ELB DNS name parts. */
export function randomToken(length: number, alphabet = 'abcdefghijklmnopqrstuvwxyz0123456789'): string {
  const bytes = randomBytes(length);
  let out = '';
  for (let i = 0; i < length; i++) out += alphabet[bytes[i] % alphabet.length];
  return out;
}
