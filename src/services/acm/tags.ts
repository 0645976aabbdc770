/**
 * AddTagsToCertificate, ListTagsForCertificate, RemoveTagsFromCertificate: at most 50 tags a
 * certificate; keys beginning `aws:` are AWS's own and refused, as on AWS.
 */
import type { AcmOperations } from '../../models/generated/acm.js';
import type { TagStore } from '../../state/tags.js';
import { scopeOf, type OpHandler } from '../service.js';
import { certificateOf } from './certificates.js';
import { AcmErrors } from './errors.js';
import type { AcmStore } from './store.js';

type Op<K extends keyof AcmOperations> = OpHandler<AcmOperations, K>;

/** Tags as a request gives them: checked, with empty values for absent ones. */
export function checkTags(tags: { Key: string; Value?: string }[]): { Key: string; Value: string }[] {
  if (tags.length > 50) throw AcmErrors.tooManyTags();
  return tags.map(({ Key, Value }) => {
    if (!Key || Key.length > 128) throw AcmErrors.validation(`1 validation error detected: Value '${Key}' at 'tags.member.key' failed to satisfy constraint: Member must have length between 1 and 128`);
    if ((Value ?? '').length > 256) throw AcmErrors.validation(`1 validation error detected: Value at 'tags.member.value' failed to satisfy constraint: Member must have length less than or equal to 256`);
    if (Key.toLowerCase().startsWith('aws:')) throw AcmErrors.invalidTag(`Tag key '${Key}' is reserved: keys beginning with 'aws:' are AWS's`);
    return { Key, Value: Value ?? '' };
  });
}

export function tagHandlers(store: AcmStore, tags: TagStore) {
  const AddTagsToCertificate: Op<'AddTagsToCertificate'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const c = certificateOf(store, scope, input.CertificateArn);
    const add = checkTags(input.Tags);
    if (!add.length) throw AcmErrors.validation("1 validation error detected: Value '[]' at 'tags' failed to satisfy constraint: Member must have length greater than or equal to 1");
    const keys = new Set([...tags.get(scope, c.CertificateArn).map((t) => t.Key), ...add.map((t) => t.Key)]);
    if (keys.size > 50) throw AcmErrors.tooManyTags();
    tags.put(scope, c.CertificateArn, 'certificate', add);
    return {};
  };

  const ListTagsForCertificate: Op<'ListTagsForCertificate'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const c = certificateOf(store, scope, input.CertificateArn);
    return { Tags: tags.get(scope, c.CertificateArn) };
  };

  const RemoveTagsFromCertificate: Op<'RemoveTagsFromCertificate'> = (ctx, input) => {
    const scope = scopeOf(ctx);
    const c = certificateOf(store, scope, input.CertificateArn);
    // A tag given with a value goes only if its value matches; without one, whatever its value.
    tags.remove(scope, c.CertificateArn, input.Tags.map(({ Key, Value }) => ({ Key, Value })));
    return {};
  };

  return { AddTagsToCertificate, ListTagsForCertificate, RemoveTagsFromCertificate };
}
