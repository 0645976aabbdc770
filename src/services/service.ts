/**
 * The contract between the edge and a service. A service is its codec (wire family + model), its
 * operation table and the error codes it answers for authentication failures, and may have a word
 * on a request before it is authenticated (`beforeAuth`). Handlers receive a RequestContext and
 * the decoded input, and return the output or throw an AwsError.
 */
import type { Readable } from 'node:stream';
import type { AwsError } from '../protocol/errors.js';
import type { Codec, WireRequest, WireResponse } from '../protocol/types.js';
import type { Scope } from '../state/scope.js';

export interface RequestContext {
  requestId: string;
  /** How the request was signed (`AWS` for SigV2, `AWS4-HMAC-SHA256`); undefined when unsigned. */
  signatureVersion?: string;
  /** The HTTP method, for errors that name it (S3's MethodNotAllowed). */
  method?: string;
  account: string;
  region: string;
  /** The access key that signed the request; undefined for anonymous requests (S3 only). */
  accessKeyId?: string;
  /** ARN of the caller, e.g. arn:aws:iam::000000000000:root. */
  callerArn?: string;
  /** The clock every handler reads, so tests can steer time. */
  now(): Date;
  /** Host and port the request came in on, for building URLs and DNS names. */
  host: string;
  /** The client's address (S3 policies' aws:SourceIp). */
  sourceIp?: string;
  /** The request headers, lower-cased (S3 policy conditions such as aws:Referer). */
  headers?: Record<string, string>;
  /** Trailing headers of an aws-chunked body (checksums); complete once the body stream ends. */
  trailers?: Map<string, string>;
}

// Inputs and outputs are typed per operation in each provider; the table itself is loose so the
// edge can dispatch by name.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Handler = (ctx: RequestContext, input: any) => unknown | Promise<unknown>;

export type OperationTable<Ops> = { [K in keyof Ops]?: Handler };

/** One operation's handler, typed by the generated Operations interface of its service. */
export type OpHandler<Ops extends { [K in keyof Ops]: { input: unknown; output: unknown } }, K extends keyof Ops> = (
  ctx: RequestContext,
  input: Ops[K]['input'],
) => Ops[K]['output'] | Promise<Ops[K]['output']>;

/** The account and region a request acts in, the key of every regional resource. */
export function scopeOf(ctx: RequestContext): Scope {
  return { account: ctx.account, region: ctx.region };
}

/** How a service says "who are you?": AWS answers differently per wire family. */
export interface AuthErrorCodes {
  unknownKey: { code: string; status: number; message: string };
  missing: { code: string; status: number; message: string } | 'anonymous';
  skew: { code: string; status: number };
  expired: { code: string; status: number };
  /** A signature that does not match; absent: the query and S3 families' SignatureDoesNotMatch (403). */
  badSignature?: { code: string; status: number };
  /**
   * A credential scope naming a region kumo does not know, or not the region the resource lives
   * in (`expected`, S3 buckets only). Absent: the query family's SignatureDoesNotMatch.
   */
  wrongRegion?: (region: string, expected: string | undefined, presigned: boolean) => AwsError;
  /** A malformed presigned query string (S3: AuthorizationQueryParametersError); absent: IncompleteSignature. */
  malformedQuery?: { code: string; status: number };
  /**
   * S3 only: every x-amz-* header a signed request carries must be signed, so nothing can be
   * added to a captured request. `field` names the error element listing the unsigned ones.
   */
  unsignedHeaders?: { code: string; status: number; message: string; field: string };
  /**
   * S3 only: Signature Version 2 is accepted for resources in these regions (the region of the
   * bucket a request names, us-east-1 when it names none). Absent: SigV2 is refused with AWS's
   * "Please use AWS4-HMAC-SHA256".
   */
  sigV2?: { allowedIn(region: string): boolean };
}

/**
 * A service's word on a request before it is authenticated (Service.beforeAuth). S3 is the one
 * service that says anything yet: website endpoints, CORS preflights and browser uploads (POST
 * Object, signed by its form's policy) are answered here, a
 * bucket's region binds the signature, and CORS headers go on every answer.
 */
/**
 * The edge's keys, lent to a request that signs something other than itself (S3's browser upload
 * signs its policy document): the service builds what was signed, the edge signs it the same way
 * with the secret, which never leaves it.
 */
export interface Signer {
  /** False when kumo runs with authentication off: any signature is taken. */
  readonly enabled: boolean;
  /** The account a key belongs to; undefined if kumo does not know the key. */
  account(accessKeyId: string): string | undefined;
  /** The account requests act in when authentication is off and the key is unknown. */
  readonly defaultAccount: string;
  /**
   * The signature the key puts on `data`: SigV4's (hex HMAC-SHA256 under the signing key of
   * `scope`) or, without a scope, SigV2's (base64 HMAC-SHA1 under the secret). Undefined for an
   * unknown key.
   */
  sign(accessKeyId: string, data: string, scope?: { date: string; region: string; service: string }): string | undefined;
}

export interface Admission {
  /**
   * The service answers the request itself, unsigned and outside its API model; `operation` names
   * it in the access log. `respond` sees an anonymous caller (a form that carries its own
   * signature, S3's browser upload, authenticates itself) and the body as it arrives (a client
   * waiting for 100 Continue is told to go ahead once it is read); it throws AwsError to refuse.
   */
  answer?: { operation: string; respond(ctx: RequestContext, body: Readable, signer: Signer): WireResponse | Promise<WireResponse> };
  /**
   * The region the signature must be scoped to, when the resource the request names lives in one;
   * undefined when any region kumo serves will do. Asked only of signed requests (it may cost a
   * lookup).
   */
  signingRegion?(): string | undefined;
  /** Headers to add to whatever answers the request, asked once the answer is ready. */
  responseHeaders?(): Record<string, string> | undefined;
}

/** What the edge saw of one answered request, for a service's own request log. */
export interface RequestFacts {
  requestId: string;
  time: Date;
  method: string;
  rawPath: string;
  rawQuery: string;
  query: [string, string][];
  httpVersion: string;
  headers: Record<string, string>;
  hostBucket?: string;
  remoteIp?: string;
  operation?: string;
  status: number;
  errorCode?: string;
  bytesSent?: number;
  totalMs: number;
  /** The signing account; undefined for anonymous callers. */
  account?: string;
  signatureVersion?: string;
  presigned: boolean;
}

export interface Service {
  /** SigV4 signing name (credential scope service), e.g. `ec2`, `elasticloadbalancing`. */
  readonly signingName: string;
  /** Human name for /_kumo/health. */
  readonly name: string;
  readonly codec: Codec;
  readonly handlers: Record<string, Handler>;
  readonly authErrors: AuthErrorCodes;
  /** Services that keep regions apart use the request's region; global ones (S3, STS) may not. */
  readonly global?: boolean;
  /**
   * What the service says of a request before anyone knows who sent it; asked of every request
   * routed here. Absent: nothing (authenticate, decode, dispatch).
   */
  beforeAuth?(req: WireRequest): Admission;
  /**
   * Told of every request routed here once it is answered (S3 delivers access logs from it).
   * Must not throw and must not be slow: it runs on the request's path.
   */
  requestDone?(facts: RequestFacts): void;
  /** Called once kumo listens: bring the host back in line with the stored state. */
  start?(): void | Promise<void>;
  /** Called by /_kumo/reset after the database is wiped (drop caches, files). */
  reset?(): void | Promise<void>;
  close?(): void | Promise<void>;
}

/** The JSON services' words (AWS's Coral front end): all 400s but the unknown key. */
export const JSON_AUTH_ERRORS: AuthErrorCodes = {
  unknownKey: { code: 'UnrecognizedClientException', status: 400, message: 'The security token included in the request is invalid.' },
  missing: { code: 'MissingAuthenticationTokenException', status: 400, message: 'Missing Authentication Token' },
  skew: { code: 'InvalidSignatureException', status: 400 },
  expired: { code: 'ExpiredTokenException', status: 400 },
  badSignature: { code: 'InvalidSignatureException', status: 400 },
};

export const QUERY_AUTH_ERRORS: AuthErrorCodes = {
  unknownKey: { code: 'InvalidClientTokenId', status: 403, message: 'The security token included in the request is invalid.' },
  missing: { code: 'MissingAuthenticationToken', status: 403, message: 'Request is missing Authentication Token' },
  skew: { code: 'SignatureDoesNotMatch', status: 403 },
  expired: { code: 'ExpiredToken', status: 403 },
};
