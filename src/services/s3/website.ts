/**
 * Static website hosting: a GET or HEAD on a bucket's website host (`<bucket>.s3-website.localhost`,
 * `<bucket>.s3-website-<region>.amazonaws.com`, `<bucket>.s3-website.<region>.amazonaws.com`)
 * is served from its website configuration. Website endpoints are anonymous, so each document is
 * fetched through the guarded GetObject handler as an anonymous caller: only what the bucket's
 * policy or ACLs make public is served, exactly as through the REST endpoint. Index documents,
 * the error document, RedirectAllRequestsTo, routing rules and objects' own redirects
 * (x-amz-website-redirect-location) are applied; errors are S3's HTML pages rather than XML.
 */
import type { Operation } from '../../models/shapes.js';
import { isAwsError, type AwsError } from '../../protocol/errors.js';
import type { RestXmlCodec } from '../../protocol/rest-xml.js';
import type { WireRequest, WireResponse } from '../../protocol/types.js';
import type { Handler, RequestContext } from '../service.js';
import type { AccessStore } from './access-store.js';
import type { S3Store } from './store.js';

interface Redirect {
  HostName?: string;
  HttpRedirectCode?: string;
  Protocol?: string;
  ReplaceKeyPrefixWith?: string;
  ReplaceKeyWith?: string;
}

interface Config {
  RedirectAllRequestsTo?: { HostName: string; Protocol?: string };
  IndexDocument?: { Suffix: string };
  ErrorDocument?: { Key: string };
  RoutingRules?: { Condition?: { HttpErrorCodeReturnedEquals?: string; KeyPrefixEquals?: string }; Redirect: Redirect }[];
}

const REASONS: Record<number, string> = { 403: 'Forbidden', 404: 'Not Found', 405: 'Method Not Allowed', 400: 'Bad Request' };

/** The bucket a website host names, if the Host is a website endpoint. */
export function websiteBucket(host: string): string | undefined {
  const name = host.replace(/:[0-9]+$/, '').toLowerCase();
  return /^(.+?)\.s3-website(?:[.-][a-z0-9-]+)?\.(?:amazonaws\.com|localhost)$/.exec(name)?.[1];
}

function page(status: number, fields: [string, string][], requestId: string): WireResponse {
  const title = `${status} ${REASONS[status] ?? 'Error'}`;
  const items = [...fields, ['RequestId', requestId], ['HostId', Buffer.from(requestId).toString('base64')]]
    .map(([k, v]) => `<li>${k}: ${v.replace(/[&<>"]/g, (c) => `&#${c.charCodeAt(0)};`)}</li>`)
    .join('\n');
  const body = `<html>\n<head><title>${title}</title></head>\n<body>\n<h1>${title}</h1>\n<ul>\n${items}\n</ul>\n<hr/>\n</body>\n</html>\n`;
  return { status, headers: { 'content-type': 'text/html; charset=utf-8' }, body };
}

function errorPage(err: AwsError, requestId: string): WireResponse {
  return page(err.status, [['Code', err.code], ['Message', err.message], ...Object.entries(err.fields)], requestId);
}

function redirect(status: number, location: string): WireResponse {
  return { status, headers: { location, 'content-length': '0' } };
}

export class Website {
  private readonly getObject: Operation;

  constructor(
    private readonly store: S3Store,
    private readonly acc: AccessStore,
    private readonly handlers: Record<string, Handler>,
    private readonly codec: RestXmlCodec,
  ) {
    this.getObject = codec.model.raw.operations.GetObject as Operation;
  }

  async serve(bucketName: string, req: WireRequest, ctx: RequestContext): Promise<WireResponse> {
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return page(405, [['Code', 'MethodNotAllowed'], ['Message', 'The specified method is not allowed against this resource.'], ['Method', req.method], ['ResourceType', 'OBJECT']], ctx.requestId);
    }
    if (!this.store.bucket(bucketName)) {
      return page(404, [['Code', 'NoSuchBucket'], ['Message', 'The specified bucket does not exist'], ['BucketName', bucketName]], ctx.requestId);
    }
    const config = this.acc.get<Config>(bucketName, 'website');
    if (!config) {
      return page(404, [['Code', 'NoSuchWebsiteConfiguration'], ['Message', 'The specified bucket does not have a website configuration'], ['BucketName', bucketName]], ctx.requestId);
    }
    if (config.RedirectAllRequestsTo) {
      const to = config.RedirectAllRequestsTo;
      return redirect(301, `${to.Protocol ?? 'http'}://${to.HostName}${req.rawPath}`);
    }
    let key: string;
    try {
      key = decodeURIComponent(req.rawPath.slice(1));
    } catch {
      return page(400, [['Code', 'InvalidURI'], ['Message', "Couldn't parse the specified URI."]], ctx.requestId);
    }
    const host = req.headers.host ?? '';
    const byPrefix = config.RoutingRules?.find((r) => !r.Condition?.HttpErrorCodeReturnedEquals && key.startsWith(r.Condition?.KeyPrefixEquals ?? ''));
    if (byPrefix) return this.ruleRedirect(byPrefix.Redirect, byPrefix.Condition?.KeyPrefixEquals ?? '', key, host);
    const suffix = config.IndexDocument?.Suffix ?? 'index.html';
    const target = key === '' || key.endsWith('/') ? key + suffix : key;
    try {
      return await this.fetch(bucketName, target, req, ctx);
    } catch (e) {
      if (!isAwsError(e)) throw e;
      // A "directory" without its trailing slash redirects to it when its index exists (S3 looks
      // itself, so this holds even when the caller may not list the bucket and saw 403).
      if ((e.status === 404 || e.status === 403) && target === key && this.store.object(bucketName, `${key}/${suffix}`)) return redirect(302, `/${key}/`);
      const rule = config.RoutingRules?.find(
        (r) => r.Condition?.HttpErrorCodeReturnedEquals === String(e.status) && key.startsWith(r.Condition?.KeyPrefixEquals ?? ''),
      );
      if (rule) return this.ruleRedirect(rule.Redirect, rule.Condition?.KeyPrefixEquals ?? '', key, host);
      if (config.ErrorDocument && (e.status === 403 || e.status === 404)) {
        try {
          const doc = await this.fetch(bucketName, config.ErrorDocument.Key, req, ctx);
          return { ...doc, status: e.status };
        } catch {
          // The error document itself is missing or private: S3 then shows its own page.
        }
      }
      return errorPage(e, ctx.requestId);
    }
  }

  private async fetch(Bucket: string, Key: string, req: WireRequest, ctx: RequestContext): Promise<WireResponse> {
    const out = (await this.handlers.GetObject(ctx, { Bucket, Key })) as Record<string, unknown>;
    // An object may name where its readers go instead (x-amz-website-redirect-location).
    if (typeof out.WebsiteRedirectLocation === 'string') {
      (out.Body as { destroy?: () => void } | undefined)?.destroy?.();
      return redirect(301, out.WebsiteRedirectLocation);
    }
    const res = this.codec.encode(this.getObject, out, ctx.requestId);
    if (req.method === 'HEAD' && res.body && typeof res.body === 'object' && 'destroy' in res.body) res.body.destroy();
    return res;
  }

  private ruleRedirect(r: Redirect, prefix: string, key: string, host: string): WireResponse {
    const newKey = r.ReplaceKeyWith !== undefined ? r.ReplaceKeyWith : r.ReplaceKeyPrefixWith !== undefined ? r.ReplaceKeyPrefixWith + key.slice(prefix.length) : key;
    return redirect(Number(r.HttpRedirectCode ?? 301), `${r.Protocol ?? 'http'}://${r.HostName ?? host}/${newKey}`);
  }
}
