/**
 * Errors are data. A handler (or any layer below the protocol) throws an AwsError carrying the
 * AWS error code, the HTTP status and whether the fault is the sender's or ours; only the protocol
 * codecs turn it into bytes, each in its own wire family's error body.
 */
export type Fault = 'Sender' | 'Receiver';

export class AwsError extends Error {
  readonly code: string;
  readonly status: number;
  readonly fault: Fault;
  /** Extra fields some families put in the error body (S3's <BucketName>, <Key>, ...). */
  readonly fields: Record<string, string>;
  /** Extra response headers (S3's x-amz-bucket-region on redirects, ...). */
  readonly headers: Record<string, string>;

  constructor(
    code: string,
    message: string,
    status = 400,
    opts: { fault?: Fault; fields?: Record<string, string>; headers?: Record<string, string> } = {},
  ) {
    super(message);
    this.name = 'AwsError';
    this.code = code;
    this.status = status;
    this.fault = opts.fault ?? (status >= 500 ? 'Receiver' : 'Sender');
    this.fields = opts.fields ?? {};
    this.headers = opts.headers ?? {};
  }
}

export function isAwsError(e: unknown): e is AwsError {
  return e instanceof AwsError;
}

/** Errors every service shares. Service-specific codes live in services/<svc>/errors.ts. */
export const CommonErrors = {
  notImplemented: (service: string, operation: string) =>
    new AwsError(
      'NotImplemented',
      `The operation ${operation} of ${service} is not implemented by kumo yet.`,
      501,
      { fault: 'Receiver' },
    ),
  invalidAction: (action: string) =>
    new AwsError('InvalidAction', `The action ${action} is not valid for this web service.`, 400),
  missingAction: () => new AwsError('MissingAction', 'The request must contain the parameter Action.', 400),
  missingParameter: (name: string) =>
    new AwsError('MissingParameter', `The request must contain the parameter ${name}`, 400),
  unknownParameter: (name: string) =>
    new AwsError('UnknownParameter', `The parameter ${name} is not recognized`, 400),
  invalidParameterValue: (message: string) => new AwsError('InvalidParameterValue', message, 400),
  malformedQueryString: (message: string) => new AwsError('MalformedQueryString', message, 400),
  dryRun: () =>
    new AwsError('DryRunOperation', 'Request would have succeeded, but DryRun flag is set.', 412),
  internal: (message = 'We encountered an internal error. Please try again.') =>
    new AwsError('InternalError', message, 500, { fault: 'Receiver' }),
};

/**
 * An error in the JSON families' shape (`__type` plus `x-amzn-ErrorType`), for requests to
 * services kumo lacks whose clients could not parse an XML error: they then see NotImplemented
 * rather than a deserialization failure.
 */
export function encodeJsonError(err: AwsError, requestId: string, contentType = 'application/x-amz-json-1.0') {
  const body = JSON.stringify({ __type: err.code, message: err.message });
  return {
    status: err.status,
    headers: { 'content-type': contentType, 'x-amzn-errortype': err.code, 'x-amzn-requestid': requestId, ...err.headers },
    body,
  };
}
