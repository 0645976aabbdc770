/**
 * CreateKeyPair, ImportKeyPair, DescribeKeyPairs, DeleteKeyPair. A created key's private half is
 * returned once and forgotten; rows keep the public key, its fingerprint and its type, so that
 * instances launched with the key (later) can put it in authorized_keys.
 */
import type { Ec2Operations } from '../../../models/generated/ec2.js';
import { AwsError } from '../../../protocol/errors.js';
import { checkDryRun } from '../../../state/dry-run.js';
import { applyFilters, type Accessors } from '../../../state/filters.js';
import { resourceId } from '../../../state/ids.js';
import type { Scope } from '../../../state/scope.js';
import type { Tag } from '../../../state/tags.js';
import { scopeOf, type OpHandler, type RequestContext } from '../../service.js';
import { Ec2Errors } from '../errors.js';
import { authorizedKeyLine, generateKey, importedFingerprint, parsePublicKey, RSA_IMPORT_BITS, type KeyType } from './material.js';
import { keyPairTable, type KeyPairRecord } from './store.js';
import { toPpk } from './ppk.js';
import type { Ec2Store } from '../store.js';
import { putTags, tagsFromSpecifications } from '../tagging.js';

type Op<K extends keyof Ec2Operations> = OpHandler<Ec2Operations, K>;
type KeyPair = KeyPairRecord & { Tags: Tag[] };

const e = (code: string, message: string) => new AwsError(code, message, 400);
export const KeyPairErrors = {
  duplicate: (name: string) => e('InvalidKeyPair.Duplicate', `The keypair '${name}' already exists.`),
  nameNotFound: (name: string) => e('InvalidKeyPair.NotFound', `The key pair '${name}' does not exist`),
  idNotFound: (id: string) => e('InvalidKeyPair.NotFound', `The key pair ID '${id}' does not exist`),
  format: (detail = 'Key is not in valid OpenSSH public key format') => e('InvalidKey.Format', detail),
};

const keyPairFilters: Accessors<KeyPair> = {
  'key-pair-id': (k) => k.KeyPairId,
  'key-name': (k) => k.KeyName,
  fingerprint: (k) => k.KeyFingerprint,
  'key-type': (k) => k.KeyType,
};

/** AWS: up to 255 ASCII characters. */
function checkKeyName(name: string | undefined): string {
  if (name === undefined) throw Ec2Errors.missingParameter('KeyName');
  if (name.length === 0) throw Ec2Errors.invalidParameter('Value () for parameter keyName is invalid. Value cannot be empty');
  if (name.length > 255) {
    throw Ec2Errors.invalidParameter(`Value (${name}) for parameter keyName is invalid. Length exceeds maximum of 255.`);
  }
  // eslint-disable-next-line no-control-regex
  if (!/^[\x00-\x7f]*$/.test(name)) {
    throw Ec2Errors.invalidParameter(`Value (${name}) for parameter keyName is invalid. Character sets beyond ASCII are not supported.`);
  }
  return name;
}

export function keyPairHandlers(store: Ec2Store) {
  const keys = keyPairTable(store.db);
  const byName = (scope: Scope, name: string) => keys.list(scope).find((k) => k.KeyName === name);
  store.registerTaggable('key', {
    type: 'key-pair',
    exists: (scope, id) => keys.get(scope, id) !== undefined,
    notFound: KeyPairErrors.idNotFound,
  });

  /** Stores a new key pair (public half only) with its tags, unless the name was taken meanwhile. */
  function record(ctx: RequestContext, tags: Tag[], row: Omit<KeyPairRecord, 'KeyPairId' | 'CreateTime'>): KeyPairRecord {
    const scope = scopeOf(ctx);
    const kp: KeyPairRecord = { KeyPairId: resourceId('key'), ...row, CreateTime: ctx.now().toISOString() };
    store.transaction(() => {
      if (byName(scope, kp.KeyName)) throw KeyPairErrors.duplicate(kp.KeyName);
      keys.insert(scope, kp.KeyPairId, kp);
      putTags(store, scope, kp.KeyPairId, 'key-pair', tags);
    });
    return kp;
  }

  const CreateKeyPair: Op<'CreateKeyPair'> = (ctx, input) => {
    const name = checkKeyName(input.KeyName);
    const type = input.KeyType ?? 'rsa';
    if (type !== 'rsa' && type !== 'ed25519') {
      throw Ec2Errors.invalidParameter(`Value (${type}) for parameter keyType is invalid. Valid values: rsa, ed25519`);
    }
    const format = input.KeyFormat ?? 'pem';
    if (format !== 'pem' && format !== 'ppk') throw Ec2Errors.invalidParameter(`Value (${format}) for parameter keyFormat is invalid. Valid values: pem, ppk`);
    const tags = tagsFromSpecifications(input.TagSpecifications, 'key-pair');
    if (byName(scopeOf(ctx), name)) throw KeyPairErrors.duplicate(name);
    checkDryRun(input);
    const key = generateKey(type as KeyType, name);
    const kp = record(ctx, tags, {
      KeyName: name,
      KeyType: type,
      KeyFingerprint: key.fingerprint,
      PublicKey: authorizedKeyLine(key.publicKey, name),
    });
    const material = format === 'ppk' ? toPpk(key.privateKey, key.publicKey, name) : key.privateKeyPem;
    return { KeyPairId: kp.KeyPairId, KeyName: kp.KeyName, KeyFingerprint: kp.KeyFingerprint, KeyMaterial: material, Tags: tags };
  };

  const ImportKeyPair: Op<'ImportKeyPair'> = (ctx, input) => {
    const name = checkKeyName(input.KeyName);
    if (input.PublicKeyMaterial === undefined) throw Ec2Errors.missingParameter('PublicKeyMaterial');
    const info = parsePublicKey(Buffer.from(input.PublicKeyMaterial as Uint8Array));
    if (!info) throw KeyPairErrors.format();
    if (info.type === 'rsa' && !RSA_IMPORT_BITS.includes(info.bits)) {
      throw KeyPairErrors.format(`Invalid RSA key length ${info.bits}; supported lengths are ${RSA_IMPORT_BITS.join(', ')}`);
    }
    const tags = tagsFromSpecifications(input.TagSpecifications, 'key-pair');
    if (byName(scopeOf(ctx), name)) throw KeyPairErrors.duplicate(name);
    checkDryRun(input);
    const kp = record(ctx, tags, {
      KeyName: name,
      KeyType: info.type,
      KeyFingerprint: importedFingerprint(info),
      PublicKey: authorizedKeyLine(info, name),
    });
    return { KeyPairId: kp.KeyPairId, KeyName: kp.KeyName, KeyFingerprint: kp.KeyFingerprint, Tags: tags };
  };

  const DescribeKeyPairs: Op<'DescribeKeyPairs'> = (ctx, input) => {
    checkDryRun(input);
    const scope = scopeOf(ctx);
    let all: KeyPair[] = store.withTags(scope, 'key-pair', (k) => k.KeyPairId, keys.list(scope));
    for (const name of input.KeyNames ?? []) if (!all.some((k) => k.KeyName === name)) throw KeyPairErrors.nameNotFound(name);
    for (const id of input.KeyPairIds ?? []) if (!all.some((k) => k.KeyPairId === id)) throw KeyPairErrors.idNotFound(id);
    if (input.KeyNames?.length || input.KeyPairIds?.length) {
      all = all.filter((k) => input.KeyNames?.includes(k.KeyName) || input.KeyPairIds?.includes(k.KeyPairId));
    }
    const found = applyFilters(all, input.Filters, keyPairFilters);
    return {
      KeyPairs: found.map(({ PublicKey, ...k }) => (input.IncludePublicKey ? { ...k, PublicKey } : k)),
    };
  };

  // AWS answers success for a key pair that is not there (deleting is idempotent).
  const DeleteKeyPair: Op<'DeleteKeyPair'> = (ctx, input) => {
    if (input.KeyName === undefined && input.KeyPairId === undefined) throw Ec2Errors.missingParameter('KeyName or KeyPairId');
    checkDryRun(input);
    const scope = scopeOf(ctx);
    const kp = input.KeyPairId !== undefined ? keys.get(scope, input.KeyPairId) : byName(scope, input.KeyName!);
    if (kp && input.KeyName !== undefined && kp.KeyName !== input.KeyName) {
      throw Ec2Errors.invalidCombination(`The key pair ID '${kp.KeyPairId}' does not belong to the key pair '${input.KeyName}'`);
    }
    if (kp) {
      store.transaction(() => {
        keys.delete(scope, kp.KeyPairId);
        store.tags.removeAll(scope, kp.KeyPairId);
      });
    }
    return { Return: true, KeyPairId: kp?.KeyPairId };
  };

  return { CreateKeyPair, ImportKeyPair, DescribeKeyPairs, DeleteKeyPair };
}
