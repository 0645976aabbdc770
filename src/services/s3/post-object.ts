/**
 * Browser uploads (POST Object): an HTML form POSTed to a bucket's URL, as `createPresignedPost`
 * (@aws-sdk/s3-presigned-post) and boto3's `generate_presigned_post` prepare it. No S3 API model
 * describes it, and the request is not signed itself: the form carries a policy document signed
 * with SigV4 (`x-amz-credential`, `x-amz-date`, `x-amz-signature`) or SigV2 (`AWSAccessKeyId`,
 * `signature`), so it is answered before the edge authenticates (./admission.ts).
 *
 * Flow: the fields before the file are read (bounded, ./form-data.ts); the policy's signature is
 * checked with the edge's Signer and its conditions against the fields (./post-policy.ts); the
 * fields then become the headers of the PUT they stand for, decoded by the same codec as a
 * PutObject, and the file streams into the guarded PutObject handler as its body, so access,
 * encryption, checksums, versioning and durability are exactly a PUT's. The file is counted as
 * it streams against the policy's content-length-range. The answer is S3's: 204 by default,
 * `success_action_status` 200 or 201 (with a PostResponse document), or a 303 to
 * `success_action_redirect`/`redirect`.
 */
import { timingSafeEqual } from 'node:crypto';
import { Readable } from 'node:stream';
import type { Operation } from '../../models/shapes.js';
import { AwsError } from '../../protocol/errors.js';
import type { RestXmlCodec } from '../../protocol/rest-xml.js';
import type { WireRequest, WireResponse } from '../../protocol/types.js';
import { readXml, type XmlNode } from '../../protocol/xml-read.js';
import type { Handler, RequestContext, Signer } from '../service.js';
import { S3Errors } from './errors.js';
import { FormPreambleTooLarge, FormReader, formBoundary, MalformedForm, type FilePart } from './form-data.js';
import { checkPolicy, checkV4Date, missingField, parseV4Credential, PostPolicyErrors, type SizeRange } from './post-policy.js';
import type { S3Store } from './store.js';

/** S3's bound on the form fields before the file. */
const MAX_PRE_DATA = 20 * 1024;

/** Fields that steer the upload rather than describe the object. */
const CONTROL_FIELDS = new Set([
  'key', 'bucket', 'policy', 'signature', 'awsaccesskeyid', 'file', 'success_action_status', 'success_action_redirect', 'redirect',
  'x-amz-signature', 'x-amz-credential', 'x-amz-algorithm', 'x-amz-date', 'x-amz-security-token', 'acl', 'tagging',
]);

export const PostErrors = {
  malformed: () => new AwsError('MalformedPOSTRequest', 'The body of your POST request is not well-formed multipart/form-data.', 400),
  preDataTooLarge: () => new AwsError('MaxPostPreDataLengthExceeded', 'Your POST request fields preceding the upload file were too large.', 400),
  noFile: () =>
    new AwsError('InvalidArgument', 'POST requires exactly one file upload per request.', 400, { fields: { ArgumentName: 'file', ArgumentValue: '0' } }),
  tooSmall: (proposed: number, min: number) =>
    new AwsError('EntityTooSmall', 'Your proposed upload is smaller than the minimum allowed size', 400, {
      fields: { ProposedSize: String(proposed), MinSizeAllowed: String(min) },
    }),
};

/** Whether a request is a browser upload: a multipart form POSTed to a bucket, naming no sub-resource. */
export function isBrowserUpload(req: WireRequest, target: { bucket?: string; key?: string }): boolean {
  return req.method === 'POST' && target.bucket !== undefined && !target.key && req.query.length === 0 && formBoundary(req.headers['content-type']) !== undefined;
}

export class BrowserUploads {
  private readonly putObject: Operation;

  constructor(
    private readonly store: S3Store,
    private readonly handlers: Record<string, Handler>,
    private readonly codec: RestXmlCodec,
    /** Whether SigV2 is taken for a bucket in this region (the rule of ./errors.ts's s3AuthErrors). */
    private readonly sigV2Allowed: (region: string) => boolean,
  ) {
    this.putObject = codec.model.raw.operations.PutObject as Operation;
  }

  async upload(bucketName: string, req: WireRequest, anonymous: RequestContext, body: Readable, signer: Signer): Promise<WireResponse> {
    const bucket = this.store.bucket(bucketName);
    if (!bucket) throw S3Errors.noSuchBucket(bucketName);
    const { fields, file } = await leadingFields(body, formBoundary(req.headers['content-type'])!);
    if (!file) throw PostErrors.noFile();
    const rawKey = fields.get('key');
    if (rawKey === undefined) throw missingField('key');
    // Browsers send a bare file name; older ones sent the client's whole path.
    const key = rawKey.replaceAll('${filename}', file.filename.replace(/^.*[\\/]/, ''));
    const ctx = this.caller(anonymous, fields, bucket.region, signer);
    let size: SizeRange | undefined;
    if (ctx.account || fields.has('policy')) {
      const policy = fields.get('policy');
      if (policy === undefined) throw missingField('policy');
      size = checkPolicy(policy, new Map([...fields, ['bucket', bucketName], ['key', key]]), anonymous.now()).size;
    }
    const put = await this.putInput(bucketName, key, fields, file, size);
    // The handler sees the PUT's headers (the form's own describe the form, not the object).
    const { 'content-length': _formLength, 'content-type': _formType, ...requestHeaders } = anonymous.headers ?? {};
    const out = (await this.handlers.PutObject({ ...ctx, headers: { ...requestHeaders, ...put.headers } }, put.input)) as Record<string, unknown>;
    return this.answer(req, bucketName, key, fields, this.codec.encode(this.putObject, out, ctx.requestId));
  }

  /** Who signed the policy: the key's account, or an anonymous caller for an unsigned form. */
  private caller(anonymous: RequestContext, fields: Map<string, string>, region: string, signer: Signer): RequestContext {
    const policy = fields.get('policy') ?? '';
    let accessKeyId: string;
    let expected: string | undefined;
    let signature: string;
    let signatureVersion: 'AWS' | 'AWS4-HMAC-SHA256';
    if (fields.has('x-amz-signature') || fields.has('x-amz-credential') || fields.has('x-amz-algorithm')) {
      const algorithm = fields.get('x-amz-algorithm');
      if (algorithm === undefined) throw missingField('x-amz-algorithm');
      if (algorithm !== 'AWS4-HMAC-SHA256') throw S3Errors.invalidArgument('Unsupported algorithm', 'x-amz-algorithm', algorithm);
      const credText = fields.get('x-amz-credential');
      if (credText === undefined) throw missingField('x-amz-credential');
      const cred = parseV4Credential(credText);
      if (!cred) throw S3Errors.invalidArgument('Invalid credential', 'x-amz-credential', credText);
      checkV4Date(fields.get('x-amz-date'), cred);
      if (cred.region !== region) {
        throw new AwsError('AuthorizationQueryParametersError', `Error parsing the X-Amz-Credential parameter; the region '${cred.region}' is wrong; expecting '${region}'`, 400, {
          fields: { Region: region },
        });
      }
      if (!fields.has('x-amz-signature')) throw missingField('x-amz-signature');
      accessKeyId = cred.accessKeyId;
      signature = fields.get('x-amz-signature')!;
      expected = signer.sign(accessKeyId, policy, { date: cred.date, region: cred.region, service: 's3' });
      signatureVersion = 'AWS4-HMAC-SHA256';
    } else if (fields.has('awsaccesskeyid') || fields.has('signature')) {
      if (!this.sigV2Allowed(region)) {
        throw new AwsError('InvalidRequest', 'The authorization mechanism you have provided is not supported. Please use AWS4-HMAC-SHA256.', 400);
      }
      if (!fields.has('awsaccesskeyid')) throw missingField('AWSAccessKeyId');
      if (!fields.has('signature')) throw missingField('signature');
      accessKeyId = fields.get('awsaccesskeyid')!;
      signature = fields.get('signature')!;
      expected = signer.sign(accessKeyId, policy);
      signatureVersion = 'AWS';
    } else {
      return { ...anonymous, region };
    }
    if (!fields.has('policy')) throw missingField('policy');
    let account = signer.account(accessKeyId);
    if (signer.enabled) {
      if (account === undefined) throw new AwsError('InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.', 403, { fields: { AWSAccessKeyId: accessKeyId } });
      if (expected === undefined || !sameText(expected, signature)) throw PostPolicyErrors.signature(policy, accessKeyId);
    }
    account ??= signer.defaultAccount;
    return { ...anonymous, account, accessKeyId, region, signatureVersion, callerArn: `arn:aws:iam::${account}:root` };
  }

  /**
   * The PutObject the form stands for: its fields as the headers of that PUT, decoded by the
   * codec as any PUT's are. Its length is not known before the file has streamed, as with a
   * chunked upload.
   */
  private async putInput(bucket: string, key: string, fields: Map<string, string>, file: FilePart, size: SizeRange | undefined) {
    const headers: Record<string, string> = { 'transfer-encoding': 'chunked' };
    for (const [name, value] of fields) {
      if (!CONTROL_FIELDS.has(name) && !name.startsWith('x-ignore-')) headers[name] = value;
    }
    if (fields.has('acl')) headers['x-amz-acl'] = fields.get('acl')!;
    if (fields.has('tagging')) headers['x-amz-tagging'] = taggingQuery(fields.get('tagging')!);
    const stream = fileBody(file.body, size);
    const path = `/${bucket}/${key.split('/').map(encodeURIComponent).join('/')}`;
    const call = await this.codec.decode({ method: 'PUT', rawPath: path, query: [], headers, stream });
    return { input: call.input, headers };
  }

  private answer(req: WireRequest, bucket: string, key: string, fields: Map<string, string>, put: WireResponse): WireResponse {
    const etag = put.headers.etag ?? '';
    const host = req.headers.host ?? 'localhost';
    const path = key.split('/').map(encodeURIComponent).join('/');
    const location = req.hostBucket !== undefined ? `http://${host}/${path}` : `http://${host}/${bucket}/${path}`;
    const headers = { ...put.headers, location };
    const redirect = redirectTarget(fields.get('success_action_redirect') ?? fields.get('redirect'));
    if (redirect) {
      redirect.searchParams.append('bucket', bucket);
      redirect.searchParams.append('key', key);
      redirect.searchParams.append('etag', etag);
      return { status: 303, headers: { ...headers, location: redirect.toString() } };
    }
    const status = fields.get('success_action_status');
    if (status === '201') {
      const esc = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
      const body =
        '<?xml version="1.0" encoding="UTF-8"?>\n' +
        `<PostResponse><Location>${esc(location)}</Location><Bucket>${esc(bucket)}</Bucket><Key>${esc(key)}</Key><ETag>${esc(etag)}</ETag></PostResponse>`;
      return { status: 201, headers: { ...headers, 'content-type': 'application/xml' }, body };
    }
    return { status: status === '200' ? 200 : 204, headers };
  }
}

async function leadingFields(body: Readable, boundary: string): Promise<{ fields: Map<string, string>; file?: FilePart }> {
  try {
    // The field named `file` is the file, with a filename or without (curl -F file=…).
    const read = await new FormReader(body, boundary).leadingFields(MAX_PRE_DATA, (name, filename) => filename !== undefined || name.toLowerCase() === 'file');
    const fields = new Map<string, string>();
    // Field names are not case-sensitive; the first of a repeated name counts.
    for (const [name, value] of read.fields) if (!fields.has(name.toLowerCase())) fields.set(name.toLowerCase(), value);
    return { fields, file: read.file };
  } catch (e) {
    if (e instanceof MalformedForm) throw PostErrors.malformed();
    if (e instanceof FormPreambleTooLarge) throw PostErrors.preDataTooLarge();
    throw e;
  }
}

/**
 * The file as the PUT's body: a form that breaks off inside it is S3's MalformedPOSTRequest, and
 * a size outside the policy's range fails the upload as it streams, so nothing is kept.
 */
function fileBody(file: Readable, range: SizeRange | undefined): Readable {
  async function* bytes() {
    let seen = 0;
    try {
      for await (const chunk of file as AsyncIterable<Buffer>) {
        seen += chunk.length;
        if (range && seen > range.max) throw S3Errors.entityTooLarge(seen, range.max);
        yield chunk;
      }
    } catch (e) {
      throw e instanceof MalformedForm ? PostErrors.malformed() : e;
    }
    if (range && seen < range.min) throw PostErrors.tooSmall(seen, range.min);
  }
  return Readable.from(bytes(), { objectMode: false });
}

/** A redirect S3 follows only when it is an absolute http(s) URL; any other is ignored. */
function redirectTarget(url: string | undefined): URL | undefined {
  if (!url) return undefined;
  try {
    const u = new URL(url);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u : undefined;
  } catch {
    return undefined;
  }
}

/** The text of an element (its #text when it has attributes too). */
const textOf = (n: XmlNode | XmlNode[] | undefined): string =>
  typeof n === 'string' ? n : n && !Array.isArray(n) && typeof n['#text'] === 'string' ? n['#text'] : '';

/** The form's `tagging` field is a Tagging document; PutObject takes its tags as a query string. */
function taggingQuery(doc: string): string {
  let tags: XmlNode[];
  try {
    const tagging = readXml(doc, 8).Tagging;
    const set = typeof tagging === 'object' && !Array.isArray(tagging) ? tagging.TagSet : undefined;
    if (set === undefined || Array.isArray(set)) throw new Error('no TagSet');
    const tag = typeof set === 'string' ? undefined : set.Tag;
    tags = tag === undefined ? [] : Array.isArray(tag) ? tag : [tag];
  } catch {
    throw new AwsError('MalformedXML', 'The XML you provided was not well-formed or did not validate against our published schema', 400);
  }
  return tags
    .map((t) => (typeof t === 'object' ? t : {}))
    .map((t) => `${encodeURIComponent(textOf(t.Key))}=${encodeURIComponent(textOf(t.Value))}`)
    .join('&');
}

function sameText(a: string, b: string): boolean {
  const x = Buffer.from(a);
  const y = Buffer.from(b);
  return x.length === y.length && timingSafeEqual(x, y);
}
