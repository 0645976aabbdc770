/**
 * Which service a request is for. In order: the SigV4 credential scope (header or presigned
 * query), the `X-Amz-Target` of a JSON request (its model's target prefix), the Host header (S3
 * virtual-host addressing), the `Version` of a form-encoded query request, and finally S3, which
 * owns every other path. Several services can share a signing
 * name (ELB classic and ELBv2 are both `elasticloadbalancing`); the API version picks between them.
 *
 * kumo answers before all of its services are up (kumo.ts starts them behind the listening
 * endpoint): until they are, `Routes` sends a request signed for a service that is already up
 * (STS) straight to it, and holds every other one until the rest are up.
 */
import type { Service } from '../services/service.js';

export interface RouteHints {
  method: string;
  host: string;
  headers: Record<string, string>;
  query: [string, string][];
}

export function scopeService(headers: Record<string, string>, query: [string, string][]): string | undefined {
  const auth = headers['authorization'];
  const cred = auth ? /Credential=([^,\s]+)/.exec(auth)?.[1] : query.find(([k]) => k === 'X-Amz-Credential')?.[1];
  return cred?.split('/')[3];
}

/** The bucket named by a virtual-host style Host header, if any. */
export function hostBucket(host: string): string | undefined {
  const name = host.replace(/:[0-9]+$/, '').toLowerCase();
  if (/^[0-9.]+$/.test(name) || name === 'localhost' || name.startsWith('[')) return undefined;
  let m = /^(.+)\.s3(?:[.-][a-z0-9-]+)*\.amazonaws\.com$/.exec(name);
  if (m) return m[1];
  m = /^(.+?)\.s3\.(?:[a-z0-9-]+\.)*localhost(?:\.localstack\.cloud)?$/.exec(name);
  if (m) return m[1];
  m = /^(.+)\.localhost$/.exec(name);
  if (m && !m[1].startsWith('s3.') && m[1] !== 's3') return m[1];
  return undefined;
}

/**
 * Real AWS APIs that share a signing name or wire shape with one kumo serves but that kumo does not
 * implement, by form `Version`: a request for one is answered NotImplemented, never decoded as
 * the API kumo happens to have.
 */
const OTHER_APIS: Record<string, string> = {};

/** Picks among candidates by the API version the request names. */
export function byVersion(candidates: Service[], version: string | undefined): Service | undefined {
  return candidates.find((s) => s.codec.model.metadata.apiVersion === version);
}

/** The name of an AWS API kumo knows of but does not serve, for a form `Version`. */
export function otherApi(version: string): string | undefined {
  return Object.prototype.hasOwnProperty.call(OTHER_APIS, version) ? OTHER_APIS[version] : undefined;
}

export interface Routed {
  service?: Service;
  /** The form body's Version decides among these. */
  candidates?: Service[];
  unknownScope?: string;
}

export class ServiceRouter {
  private readonly bySigningName = new Map<string, Service[]>();

  constructor(private readonly services: Service[]) {
    for (const s of services) {
      const list = this.bySigningName.get(s.signingName) ?? [];
      list.push(s);
      this.bySigningName.set(s.signingName, list);
    }
  }

  /** Route before the body is read; `candidates` means the form body's Version decides. */
  route(h: RouteHints): Routed {
    const scope = scopeService(h.headers, h.query);
    if (scope) {
      const list = this.bySigningName.get(scope);
      if (!list) return { unknownScope: scope };
      return list.length === 1 ? { service: list[0] } : { candidates: list };
    }
    const target = h.headers['x-amz-target'];
    if (target) {
      const prefix = target.slice(0, Math.max(0, target.lastIndexOf('.')));
      const service = this.services.find((s) => s.codec.model.metadata.targetPrefix === prefix);
      if (service) return { service };
    }
    if (hostBucket(h.host)) return { service: this.s3() };
    const isForm = (h.headers['content-type'] ?? '').startsWith('application/x-www-form-urlencoded');
    const hasAction = h.query.some(([k]) => k === 'Action');
    if ((h.method === 'POST' && isForm) || hasAction) {
      return { candidates: this.services.filter((s) => s.codec.traits.body === 'form') };
    }
    return { service: this.s3() };
  }

  private s3(): Service | undefined {
    return this.bySigningName.get('s3')?.[0];
  }
}

/** The services that answer from the start, and the router once the rest are up. */
export class Routes {
  private router?: ServiceRouter;
  private failed?: Error;
  private readonly waiting: { resolve(r: ServiceRouter): void; reject(e: Error): void }[] = [];

  constructor(private readonly early: Service[]) {}

  /** Every service is up. */
  open(services: Service[]): void {
    this.router = new ServiceRouter(services);
    for (const w of this.waiting.splice(0)) w.resolve(this.router);
  }

  /** They will not come up (a failed start): whatever waits is refused. */
  fail(e: Error): void {
    this.failed = e;
    for (const w of this.waiting.splice(0)) w.reject(e);
  }

  get up(): boolean {
    return this.router !== undefined;
  }

  /** ServiceRouter.route once every service is up; a request for one already up need not wait. */
  route(h: RouteHints): Routed | Promise<Routed> {
    if (this.router) return this.router.route(h);
    const scope = scopeService(h.headers, h.query);
    const early = scope === undefined ? undefined : this.early.find((s) => s.signingName === scope);
    if (early) return { service: early };
    return this.whenUp().then((router) => router.route(h));
  }

  /** Resolves once every service is up. */
  whenUp(): Promise<ServiceRouter> {
    if (this.router) return Promise.resolve(this.router);
    if (this.failed) return Promise.reject(this.failed);
    return new Promise((resolve, reject) => this.waiting.push({ resolve, reject }));
  }
}
