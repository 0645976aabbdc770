/**
 * The instance metadata service (169.254.169.254) on the host side. The VPC fabric DNATs every
 * instance's traffic for 169.254.169.254:80 onto one host address and SNATs its source to an
 * address that names the instance, so this server learns who is asking from the connection's
 * remote address alone (`lookup`), never from anything the client says; that is also why a
 * caller that is not an instance is refused.
 *
 * request → who (lookup; unknown → 403) → endpoint enabled? (403) → token PUT (IMDSv2) or
 *           GET/HEAD → token check (401) → walk the tree of tree.ts → text, or 404
 *
 * As on EC2: PUT /latest/api/token needs X-aws-ec2-metadata-token-ttl-seconds in 1..21600 (400
 * otherwise) and is refused with X-Forwarded-For (403: a proxy is relaying it); a token works only
 * for the instance that got it and until its TTL; a GET carrying a bad or expired token is 401
 * even where tokens are optional; with HttpTokens=required a GET without one is 401; with
 * HttpEndpoint=disabled everything is 403. Every dated version (/2021-07-15/…) serves what
 * /latest/ serves.
 *
 * Not like EC2: the PUT hop limit (HttpPutResponseHopLimit) is not enforced (the fabric's NAT
 * hides the IP TTL); iam/, events/, spot/ and the pkcs7/signature/rsa2048 documents are absent.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { isDir, latestTree, listing, type Dir, type InstanceMetadata, type Node } from './tree.js';
import { MAX_TOKEN_TTL_SECONDS, TokenStore } from './tokens.js';

export type { InstanceMetadata, SecurityGroupRef } from './tree.js';

export interface ImdsOptions {
  /** The instance behind a connection's remote address (the fabric's per-instance transit address). */
  lookup: (remoteAddress: string) => InstanceMetadata | undefined;
  /** Milliseconds since the epoch; tests move it to expire tokens. */
  now?: () => number;
}

const TOKEN = 'x-aws-ec2-metadata-token';
const TOKEN_TTL = 'x-aws-ec2-metadata-token-ttl-seconds';

const VERSIONS = [
  '1.0', '2007-01-19', '2007-03-01', '2007-08-29', '2007-10-10', '2007-12-15', '2008-02-01', '2008-09-01',
  '2009-04-04', '2011-01-01', '2011-05-01', '2012-01-12', '2014-02-25', '2014-11-05', '2015-10-20',
  '2016-04-19', '2016-06-30', '2016-09-02', '2018-03-28', '2018-08-17', '2018-09-24', '2019-10-01',
  '2020-10-27', '2021-01-03', '2021-03-23', '2021-07-15', '2022-09-24', 'latest',
];

const REASONS: Record<number, string> = {
  400: 'Bad Request', 401: 'Unauthorized', 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed',
};

export type RequestHandler = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * `extra`: requests under a path of kumo's own (`/kumo/…`, which no EC2 path starts with) go
 * there instead: what an instance asks kumo to do for it, on the address it already reaches.
 */
export function createImdsServer(opts: ImdsOptions, extra?: { prefix: string; handle: RequestHandler }): Server {
  const tokens = new TokenStore(opts.now);
  const server = createServer((req, res) => {
    try {
      if (extra && (req.url ?? '').startsWith(extra.prefix)) extra.handle(req, res);
      else handle(req, res, opts, tokens);
    } catch {
      if (!res.headersSent) send(res, 500, 'text/plain', '');
      else res.destroy();
    }
  });
  // Instances poll IMDS in tight loops (cloud-init, SDK credential chains); idle keep-alive
  // sockets should not pile up.
  server.keepAliveTimeout = 5_000;
  return server;
}

function handle(req: IncomingMessage, res: ServerResponse, opts: ImdsOptions, tokens: TokenStore): void {
  // Drain any request body: a PUT may carry one, and an unread body stalls keep-alive.
  req.resume();
  const remote = (req.socket.remoteAddress ?? '').replace(/^::ffff:/, '');
  const m = opts.lookup(remote);
  if (!m || m.httpEndpoint === 'disabled') return error(res, 403);

  const segments = new URL(req.url ?? '/', 'http://imds').pathname.split('/').filter(Boolean);
  const method = req.method ?? 'GET';

  if (segments.length === 3 && segments[0] === 'latest' && segments[1] === 'api' && segments[2] === 'token') {
    if (method !== 'PUT') return error(res, 405, { Allow: 'PUT' });
    if (req.headers['x-forwarded-for'] !== undefined) return error(res, 403);
    const raw = header(req, TOKEN_TTL);
    const ttl = raw !== undefined && /^\d{1,6}$/.test(raw.trim()) ? Number(raw.trim()) : NaN;
    if (!(ttl >= 1 && ttl <= MAX_TOKEN_TTL_SECONDS)) return error(res, 400);
    return send(res, 200, 'text/plain', tokens.issue(m.instanceId, ttl), { 'X-Aws-Ec2-Metadata-Token-Ttl-Seconds': String(ttl) });
  }
  if (method !== 'GET' && method !== 'HEAD') return error(res, 405, { Allow: 'GET, HEAD' });

  const token = header(req, TOKEN);
  const extra: Record<string, string> = {};
  if (token !== undefined) {
    const left = tokens.check(token.trim(), m.instanceId);
    if (left === undefined) return error(res, 401);
    extra['X-Aws-Ec2-Metadata-Token-Ttl-Seconds'] = String(left);
  } else if (m.httpTokens === 'required') {
    return error(res, 401);
  }

  if (segments.length === 0) return send(res, 200, 'text/plain', VERSIONS.join('\n'), extra);
  if (!VERSIONS.includes(segments[0]!)) return error(res, 404);
  const rest = segments.slice(1);
  if (rest.length === 1 && rest[0] === 'user-data') {
    return m.userData ? send(res, 200, 'application/octet-stream', m.userData, extra) : error(res, 404);
  }
  const tree = latestTree(m);
  if (rest.length === 0) {
    // /latest/ lists its entries without trailing slashes, unlike every directory below it.
    const names = [...Object.keys(tree.children), ...(m.userData ? ['user-data'] : [])];
    return send(res, 200, 'text/plain', names.join('\n'), extra);
  }
  const node = walk(tree, rest);
  if (node === undefined) return error(res, 404);
  send(res, 200, 'text/plain', isDir(node) ? listing(node) : node, extra);
}

function walk(root: Dir, path: string[]): Node | undefined {
  let node: Node = root;
  for (const name of path) {
    if (!isDir(node) || !Object.hasOwn(node.children, name)) return undefined;
    node = node.children[name]!;
  }
  return node;
}

function header(req: IncomingMessage, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function send(res: ServerResponse, status: number, type: string, body: string | Buffer, extra: Record<string, string> = {}): void {
  const bytes = typeof body === 'string' ? Buffer.from(body) : body;
  res.writeHead(status, REASONS[status] ?? undefined, {
    'Content-Type': type,
    'Content-Length': String(bytes.length),
    Server: 'EC2ws',
    ...extra,
  });
  res.end(bytes);
}

/** EC2's error pages are small XHTML documents naming the status. */
function error(res: ServerResponse, status: number, extra: Record<string, string> = {}): void {
  const title = `${status} - ${REASONS[status] ?? 'Error'}`;
  const body = `<?xml version="1.0" encoding="iso-8859-1"?>
<!DOCTYPE html PUBLIC "-//W3C//DTD XHTML 1.0 Transitional//EN"
         "http://www.w3.org/TR/xhtml1/DTD/xhtml1-transitional.dtd">
<html xmlns="http://www.w3.org/1999/xhtml" xml:lang="en" lang="en">
 <head>
  <title>${title}</title>
 </head>
 <body>
  <h1>${title}</h1>
 </body>
</html>
`;
  send(res, status, 'text/html', body, extra);
}
