/**
 * The key pair table: one row per key pair, public half only (the private key is handed out once
 * by CreateKeyPair and never stored). Its own migration component, so other EC2 tables can grow
 * without renumbering these.
 */
import type { Db, Migration } from '../../../state/db.js';
import { ResourceTable, resourceTableSql } from '../../../state/resources.js';

export interface KeyPairRecord {
  KeyPairId: string;
  KeyName: string;
  KeyType: string;
  KeyFingerprint: string;
  /** `ssh-rsa AAAA… name`, as DescribeKeyPairs returns it with IncludePublicKey. */
  PublicKey: string;
  CreateTime: string;
}

export const keyPairMigrations: Migration[] = [{ version: 1, up: resourceTableSql('ec2_key_pairs') }];

export function keyPairTable(db: Db): ResourceTable<KeyPairRecord> {
  return new ResourceTable<KeyPairRecord>(db, 'ec2_key_pairs');
}
