/**
 * `MaxResults`/`NextToken` paging shared by all describe/list operations. A token names the
 * sort key of the last item returned, so pages stay correct while items are added or removed
 * between calls; it is opaque (base64url JSON) and rejected if tampered with.
 */
import { AwsError } from '../protocol/errors.js';

export interface PageRequest {
  maxResults?: number;
  nextToken?: string;
  /** Allowed MaxResults range; AWS's is 5..1000 for most EC2 describes. */
  min?: number;
  max?: number;
  /** Page size when MaxResults is absent; undefined returns everything. */
  defaultSize?: number;
  /** The name the operation uses for MaxResults, for error messages. */
  param?: string;
  /** The error code the service answers bad paging parameters with (ELBv2 says ValidationError). */
  errorCode?: string;
}

export interface Page<T> {
  items: T[];
  nextToken?: string;
}

/** Items come back ordered by `key`, which must be unique (an ID or a name). */
export function paginate<T>(items: T[], key: (item: T) => string, req: PageRequest): Page<T> {
  const { min = 1, max = 1000, param = 'MaxResults', errorCode = 'InvalidParameterValue' } = req;
  // Keys computed once each, not twice per comparison.
  const keyed = items.map((item) => ({ item, k: key(item) }));
  keyed.sort((a, b) => (a.k < b.k ? -1 : a.k > b.k ? 1 : 0));
  const all = keyed.map((x) => x.item);
  if (req.maxResults !== undefined && (req.maxResults < min || req.maxResults > max)) {
    throw new AwsError(
      errorCode,
      `Value ( ${req.maxResults} ) for parameter ${param} is invalid. Parameter must be between ${min} and ${max}.`,
      400,
    );
  }
  let start = 0;
  if (req.nextToken) {
    const after = decodeToken(req.nextToken, errorCode);
    start = all.findIndex((item) => key(item) > after);
    if (start < 0) start = all.length;
  }
  const size = req.maxResults ?? req.defaultSize ?? all.length;
  const page = all.slice(start, start + size);
  const more = start + size < all.length;
  return { items: page, nextToken: more && page.length ? encodeToken(key(page[page.length - 1])) : undefined };
}

export function encodeToken(after: string): string {
  return Buffer.from(JSON.stringify({ v: 1, after }), 'utf8').toString('base64url');
}

export function decodeToken(token: string, errorCode = 'InvalidParameterValue'): string {
  try {
    const parsed = JSON.parse(Buffer.from(token, 'base64url').toString('utf8')) as { v?: number; after?: unknown };
    if (parsed.v === 1 && typeof parsed.after === 'string') return parsed.after;
  } catch {
    // fall through
  }
  throw new AwsError(errorCode, `The token '${token}' is invalid.`, 400);
}
