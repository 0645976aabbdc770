/**
 * Elastic Load Balancing v2 (query wire family): the operation table, and the supervisor that
 * makes load balancers real (dataplane/).
 *
 *   load-balancers.ts  application load balancers, their nodes (nodes.ts: one interface per subnet)
 *   listeners.ts       listeners and rules; actions.ts checks actions and conditions
 *   listener-certificates.ts, ssl-policies.ts   HTTPS/TLS listeners: ACM's certificates (SNI), policies
 *   target-groups.ts   target groups and their attributes; targets.ts registration and health
 *   target-health.ts   AWS's target states, derived from rows (shared by the API and the proxies)
 *   tags.ts            tags of any ELBv2 resource
 *   classic/           the classic API (2012-06-01) on the same rows and data plane
 *   dataplane/         one HAProxy per node in the VPC fabric, kumo's health checks, DNS names
 *
 * Differences from AWS:
 * - Application and network load balancers (no gateway ones), IPv4 only, one action per rule or
 *   listener (no authenticate-oidc/cognito actions; a forward to several weighted target groups
 *   is one action), HTTP and HTTPS listeners (ALB), TCP and TLS listeners (NLB); UDP is
 *   UnsupportedProtocol. No mutual TLS (trust stores) and no listener attributes.
 * - Certificates come from kumo's ACM only (imported, or issued by kumo's own CA: clients must
 *   trust GET /_kumo/ca.pem); an IAM server certificate's ARN is CertificateNotFound. A listener's
 *   security policy sets HAProxy's TLS versions and ciphers; TLS 1.0 and 1.1 are offered only as
 *   far as the host's OpenSSL configuration allows them. HTTPS listeners offer
 *   h2 and HTTP/1.1 by ALPN; targets are always spoken to in HTTP/1.1 (ProtocolVersion is
 *   stored). Certificates of HTTPS/TLS targets are not checked, as on AWS.
 * - Network load balancers are proxies here (HAProxy in TCP mode): targets see the node's address
 *   as the source, not the client's, and the load balancer needs a security group that admits
 *   its clients (none given: the VPC's default group), where AWS's may have none and filter
 *   nothing. Elastic IPs for their nodes (SubnetMappings.AllocationId) are refused.
 * - A target group forwards to targets only when they are healthy: with none healthy the load
 *   balancer answers 503, where AWS "fails open" and sends requests to all of them.
 * - Health checks run from kumo through the first node of the load balancer (AWS checks from
 *   every node), so a network ACL that admits one subnet's nodes and not another's is not seen.
 * - On the process runtime (no VPC fabric) load balancers become `active` with no data plane:
 *   nothing answers on their addresses and targets stay `initial`.
 * - Attributes are stored and answered; the data plane honors idle_timeout (idle client and
 *   target connections, between requests too), deletion_protection, routing.http.xff_header_processing.mode, routing.http.xff_client_port,
 *   deregistration_delay, stickiness (lb_cookie) and load_balancing.algorithm.type (round_robin,
 *   least_outstanding_requests; weighted_random is taken as round robin). The Host header always
 *   reaches targets as the client sent it. Access and connection logs cannot be turned on.
 * - A target that does not answer a connection within 10 s gets a 502 (AWS: 504).
 * - Every change of what a node runs (a target's health, a rule, an attribute) is a reload of its
 *   HAProxy: new connections go to the new process, and requests in flight finish on the old one
 *   for at most the longest deregistration delay of the load balancer's groups (then it is cut, as
 *   AWS cuts a draining target's connections). Keep-alive connections to the old process end
 *   after their current request; WebSocket (upgraded) connections it holds end at that deadline.
 * - Classic load balancers (classic/): HTTP, HTTPS, TCP and SSL listeners (SSLCertificateId an
 *   ACM certificate, served with ELBSecurityPolicy-2016-08) to HTTP(S) and TCP/SSL instance
 *   ports, no policies (stickiness, proxy protocol, custom SSL negotiation), no back-end
 *   authentication, no access logs; cross-zone and connection draining and the idle timeout are
 *   honored. Errors are ELBv2's codes with status 400 (the classic API sends
 *   InvalidConfigurationRequest as 409, which kumo does for its own refusals only).
 * - DNS names end in a random number (AWS's are the same shape); they answer from kumo's DNS:
 *   on the host with the nodes' public (loopback) addresses, inside the VPC with their private
 *   ones (AWS answers public addresses everywhere; kumo's VPCs have no way to public addresses).
 * - Pagination markers are kumo's own opaque tokens.
 */
import { loadModel } from '../../models/loader.js';
import type { Elbv2Operations } from '../../models/generated/elbv2.js';
import { QueryCodec } from '../../protocol/query.js';
import { migrate, type Db } from '../../state/db.js';
import type { NetworkStore } from '../../state/network.js';
import type { TagStore } from '../../state/tags.js';
import type { Handler, Service } from '../service.js';
import { elbv2AuthErrors } from './errors.js';
import { listenerHandlers } from './listeners.js';
import { loadBalancerHandlers } from './load-balancers.js';
import { Elbv2Store, elbv2Migrations } from './store.js';
import { tagHandlers } from './tags.js';
import type { TargetDirectory } from './target-health.js';
import { targetGroupHandlers } from './target-groups.js';
import { targetHandlers } from './targets.js';
import { LoadBalancerSupervisor, type Elbv2Runtime } from './dataplane/supervisor.js';
import { classicHandlers } from './classic/handlers.js';
import type { ElbOperations } from '../../models/generated/elb.js';
import type { Scope } from '../../state/scope.js';
import { certificateUsers, listenerCertificateHandlers, type CertificateDirectory } from './listener-certificates.js';

export interface Elbv2Deps {
  db: Db;
  network: NetworkStore;
  tags: TagStore;
  /** EC2's instances as targets (wired by the composition root). */
  directory: TargetDirectory;
  /** ACM's certificates, for HTTPS and TLS listeners (absent: none can be found). */
  certificates?: CertificateDirectory;
  /** The data plane: absent, load balancers exist on paper only. */
  runtime?: Elbv2Runtime;
  log?: (line: string) => void;
  now?: () => Date;
}

/**
 * ELBv2, with the classic API (2012-06-01, classic/) as a second service on the same rows and
 * data plane: both sign as `elasticloadbalancing`; the edge picks by the request's Version.
 */
export function createElbv2Service(deps: Elbv2Deps): Service & { supervisor: LoadBalancerSupervisor; classic: Service; certificateUsers(scope: Scope, arn: string): string[] } {
  migrate(deps.db, 'elbv2', elbv2Migrations);
  const store = new Elbv2Store(deps.db);
  const supervisor = new LoadBalancerSupervisor({
    store,
    network: deps.network,
    tags: deps.tags,
    directory: deps.directory,
    certificates: deps.certificates,
    runtime: deps.runtime,
    log: deps.log ?? (() => {}),
    now: deps.now ?? (() => new Date()),
  });
  const wake = () => supervisor.wake();
  const handlers: { [K in keyof Elbv2Operations]: Handler } = {
    ...targetGroupHandlers(store, deps.network, deps.tags, wake),
    ...targetHandlers(store, deps.network, deps.directory, wake),
    ...loadBalancerHandlers(store, deps.network, deps.tags, wake),
    ...listenerHandlers(store, deps.tags, deps.certificates, wake),
    ...listenerCertificateHandlers(store, deps.certificates, wake),
    ...tagHandlers(store, deps.tags),
  };
  return {
    name: 'elbv2',
    signingName: 'elasticloadbalancing',
    codec: new QueryCodec(loadModel('elasticloadbalancingv2-2015-12-01')),
    handlers,
    authErrors: elbv2AuthErrors,
    supervisor,
    certificateUsers: (scope, arn) => certificateUsers(store, scope, arn),
    classic: {
      name: 'elb',
      signingName: 'elasticloadbalancing',
      codec: new QueryCodec(loadModel('elasticloadbalancing-2012-06-01')),
      handlers: classicHandlers(store, deps.network, deps.tags, deps.directory, deps.certificates, wake) satisfies { [K in keyof ElbOperations]: Handler },
      authErrors: elbv2AuthErrors,
    },
    start: () => supervisor.start(),
    reset: () => supervisor.reset(),
    close: () => supervisor.close(),
  };
}
