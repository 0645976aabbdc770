/**
 * STS: who is calling. kumo has no IAM users yet, so every configured key is its account's root.
 *
 * Differences from AWS: only GetCallerIdentity; the caller is always the account root
 * (`UserId` is the account ID, as AWS reports for root credentials). kumo's one endpoint stands
 * for every regional STS endpoint, so a signature scoped to any AWS region is accepted (the
 * global sts.amazonaws.com takes us-east-1 only); a region AWS does not have is
 * SignatureDoesNotMatch, as AWS answers it.
 */
import { loadModel } from '../../models/loader.js';
import type { StsOperations } from '../../models/generated/sts.js';
import { QueryCodec } from '../../protocol/query.js';
import type { OperationTable, RequestContext, Service } from '../service.js';
import { stsAuthErrors } from './errors.js';

type Out<K extends keyof StsOperations> = StsOperations[K]['output'];

export function createStsService(): Service {
  const handlers: Required<OperationTable<StsOperations>> = {
    GetCallerIdentity: (ctx: RequestContext): Out<'GetCallerIdentity'> => ({
      UserId: ctx.account,
      Account: ctx.account,
      Arn: `arn:aws:iam::${ctx.account}:root`,
    }),
  };
  return {
    name: 'sts',
    signingName: 'sts',
    codec: new QueryCodec(loadModel('sts-2011-06-15')),
    handlers,
    authErrors: stsAuthErrors,
    global: true,
  };
}
