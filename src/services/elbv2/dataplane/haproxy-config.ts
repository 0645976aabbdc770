/**
 * Pure: a load balancer's listeners, rules and in-service targets → one node's haproxy.cfg. Kept
 * free of I/O so routing semantics are unit-tested without root or HAProxy.
 *
 *   frontend per listener   TLS ends at the bind line for HTTPS/TLS listeners (certificate files
 *                           in the node's directory, the first the default, the rest by SNI;
 *                           the security policy's versions and ciphers);
 *                           rules in priority order set txn.route once (the first match wins, as
 *                           on AWS), the default rule last; then the chosen action runs: a
 *                           redirect, a fixed response, or use_backend of the rule's backend
 *   backend per forward     the in-service targets of its target groups (weights split across
 *                           groups), round robin or least outstanding requests, AWSALB cookie
 *                           stickiness; none in service → AWS's 503 page
 *   listen per probe        a unix socket in the node's directory tunnelled (TCP) to one target's
 *                           health-check port: kumo's health checker talks HTTP through it, from
 *                           inside the VPC, and keeps the verdict (health.ts)
 *
 * Errors are AWS's: HAProxy's 503 for a connection it could not make becomes 502 (errorfile),
 * 504 stays 504; bodies and `Server: awselb/2.0` as an ALB sends them.
 */
import type { Action, Condition } from '../store.js';

export interface ServerSpec {
  address: string;
  port: number;
  /** HTTPS and TLS target groups (HTTPS and SSL instance ports): TLS to the target, unverified, as AWS does. */
  tls?: boolean;
  /** Relative weight of its target group in the action (AWS's 0–999). */
  groupWeight: number;
  groupSize: number;
}

export interface BackendSpec {
  servers: ServerSpec[];
  leastOutstanding: boolean;
  /** lb_cookie stickiness duration, seconds (group attribute or the action's group stickiness). */
  stickySeconds?: number;
}

export interface RuleSpec {
  conditions: Condition[];
  action: Action;
  /** For forward actions. */
  backend?: BackendSpec;
}

export interface ListenerSpec {
  port: number;
  /** `tcp`: bytes pass as they are (classic TCP listeners); one rule, no conditions. */
  mode?: 'http' | 'tcp';
  /** Classic load balancers add no X-Amzn-Trace-Id. */
  traceId?: boolean;
  /** HTTPS, TLS (and classic SSL) listeners: TLS ends here. */
  tls?: ListenerTls;
  /** Priority order; the default rule last (no conditions). */
  rules: RuleSpec[];
}

export interface ListenerTls {
  /** Certificate files (certificate, chain, key) in the node's directory: the default first, the others by SNI. */
  certificates: string[];
  minVersion: string;
  maxVersion: string;
  ciphers: string[];
  ciphersuites: string[];
  /** ALPN protocols offered, HAProxy's spelling (`h2,http/1.1`); none: no ALPN. */
  alpn?: string;
}

export interface NodeConfig {
  /** The node's directory: stats socket, probe sockets, error files. */
  dir: string;
  /** Written as `node` in the global section, which the stats socket shows: which config runs. */
  generation: string;
  idleTimeoutSeconds: number;
  xffMode: 'append' | 'preserve' | 'remove';
  xffClientPort: boolean;
  /** Longest deregistration delay: old processes may finish requests that long after a reload. */
  drainSeconds: number;
  listeners: ListenerSpec[];
  /**
   * Health-check tunnels: socket file name → target address:port. A TCP check's tunnel gives up
   * connecting after `connectTimeoutSeconds` (closing the socket is the check's failure).
   */
  probes: { socket: string; address: string; port: number; connectTimeoutSeconds?: number }[];
}

export const ERROR_FILES: Record<string, string> = {
  'e502.http': page(502, 'Bad Gateway'),
  'e503.http': page(503, 'Service Temporarily Unavailable'),
  'e504.http': page(504, 'Gateway Time-out'),
};

function page(code: number, text: string): string {
  const body = `<html>\r\n<head><title>${code} ${text}</title></head>\r\n<body>\r\n<center><h1>${code} ${text}</h1></center>\r\n</body>\r\n</html>\r\n`;
  return `HTTP/1.1 ${code} ${text}\r\nServer: awselb/2.0\r\nContent-Type: text/html\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`;
}

/**
 * A string in HAProxy's configuration language (double quotes, with its escapes). Users' text
 * ends up here (fixed-response bodies): nothing in it may end the line or the string, or it would
 * write configuration of its own, and HAProxy runs as root.
 */
const quote = (s: string) =>
  `"${s
    .replace(/[\\"$]/g, (c) => `\\${c}`)
    .replace(/\r?\n/g, '\\n')
    .replace(/\t/g, '\\t')
    .replace(/[\x00-\x1f\x7f]/g, '')}"`;

/** A regex in HAProxy's strong (single) quotes, where nothing is expanded: a quote or a control character is a regex escape. */
const quoteRe = (s: string) => `'${s.replace(/['\x00-\x1f\x7f]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`)}'`;

/** AWS's wildcards (* any run, ? one character) as an anchored regex. */
export function wildcardRegex(pattern: string): string {
  return `^${pattern.replace(/[.+^${}()|[\]\\]/g, '\\$&').replace(/\*/g, '.*').replace(/\?/g, '.')}$`;
}

/** One condition → HAProxy ACL expression (anonymous ACLs, OR within a condition's values). */
function conditionAcl(c: Condition): string {
  const any = (parts: string[]) => (parts.length === 1 ? parts[0]! : parts.join(' || '));
  switch (c.Field) {
    case 'path-pattern':
      // Paths are matched as the client sent them, without the query string, case-sensitively.
      return `{ path -m reg ${(c.PathPatternConfig?.Values ?? c.Values ?? []).map((v) => quoteRe(wildcardRegex(v))).join(' ')} }`;
    case 'host-header':
      // Host names are case-insensitive and match without the port.
      return `{ req.hdr(host),field(1,:),lower -m reg ${(c.HostHeaderConfig?.Values ?? c.Values ?? []).map((v) => quoteRe(wildcardRegex(v.toLowerCase()))).join(' ')} }`;
    case 'http-header': {
      const name = c.HttpHeaderConfig!.HttpHeaderName!.toLowerCase();
      return `{ req.fhdr(${name}),lower -m reg ${(c.HttpHeaderConfig?.Values ?? []).map((v) => quoteRe(wildcardRegex(v.toLowerCase()))).join(' ')} }`;
    }
    case 'http-request-method':
      return `{ method ${(c.HttpRequestMethodConfig?.Values ?? []).join(' ')} }`;
    case 'query-string':
      return any(
        (c.QueryStringConfig?.Values ?? []).map((kv) =>
          kv.Key !== undefined && kv.Key !== ''
            ? `{ url_param(${kv.Key}),lower -m reg ${quoteRe(wildcardRegex(kv.Value!.toLowerCase()))} }`
            : `{ query,lower -m reg ${quoteRe(`(^|&)[^=&]*=?${wildcardRegex(kv.Value!.toLowerCase()).slice(1, -1)}(&|$)`)} }`,
        ),
      );
    case 'source-ip':
      return `{ src ${(c.SourceIpConfig?.Values ?? []).join(' ')} }`;
    default:
      throw new Error(`unknown condition field ${c.Field}`);
  }
}

/** AWS's redirect placeholders (#{protocol}, #{host}, #{port}, #{path}, #{query}) as HAProxy log-format. */
function redirectLocation(r: NonNullable<Action['RedirectConfig']>): string {
  const fill = (s: string) =>
    s
      .replace(/[%\\" ]/g, (c) => (c === '%' ? '%%' : c === ' ' ? '%20' : `\\${c}`))
      .replaceAll('#{protocol}', 'http')
      .replaceAll('#{host}', '%[req.hdr(host),field(1,:)]')
      .replaceAll('#{port}', '%[dst_port]')
      .replaceAll('/#{path}', '%[path]')
      .replaceAll('#{path}', '%[path,regsub(^/,)]')
      .replaceAll('#{query}', '%[query]');
  const protocol = (r.Protocol ?? '#{protocol}').toLowerCase().replace('#{protocol}', 'http');
  const port = r.Port ?? '#{port}';
  const defaultPort = (protocol === 'https' && port === '443') || (protocol === 'http' && port === '80');
  const query = r.Query ?? '#{query}';
  return `${protocol}://${fill(r.Host ?? '#{host}')}${defaultPort ? '' : `:${fill(port)}`}${fill(r.Path ?? '/#{path}')}${query === '' ? '' : `?${fill(query)}`}`;
}

function backendLines(name: string, b: BackendSpec, mode: 'http' | 'tcp'): string[] {
  const lines = [`backend ${name}`, `  mode ${mode}`, `  balance ${b.leastOutstanding ? 'leastconn' : 'roundrobin'}`];
  const live = b.servers.filter((s) => s.groupWeight > 0);
  // TCP: no server, the connection is closed.
  if (!live.length && mode === 'tcp') return lines;
  if (!live.length) {
    lines.push(`  http-request return status 503 content-type text/html hdr Server awselb/2.0 string ${quote(ERROR_FILES['e503.http']!.split('\r\n\r\n')[1]!)}`);
    return lines;
  }
  if (b.stickySeconds && mode === 'http') lines.push(`  cookie AWSALB insert indirect nocache maxlife ${b.stickySeconds}s`);
  // HAProxy weights are 1–256: each server gets its group's share divided among the group's servers.
  const raw = live.map((s) => s.groupWeight / s.groupSize);
  const max = Math.max(...raw);
  live.forEach((s, i) => {
    const weight = Math.max(1, Math.round((raw[i]! / max) * 256));
    lines.push(`  server s${i} ${s.address}:${s.port} weight ${weight}${b.stickySeconds ? ` cookie s${i}` : ''}${s.tls ? ' ssl verify none' : ''}`);
  });
  return lines;
}

/** `ssl crt … ` of a bind line: the certificates (the first is served without SNI), the policy's versions and ciphers, ALPN. */
function tlsBind(dir: string, t: ListenerTls): string {
  const parts = ['ssl', ...t.certificates.map((f) => `crt ${dir}/${f}`), `ssl-min-ver ${t.minVersion}`, `ssl-max-ver ${t.maxVersion}`];
  if (t.ciphers.length) parts.push(`ciphers ${t.ciphers.join(':')}`);
  if (t.ciphersuites.length) parts.push(`ciphersuites ${t.ciphersuites.join(':')}`);
  if (t.alpn) parts.push(`alpn ${t.alpn}`);
  return parts.join(' ');
}

export function renderConfig(c: NodeConfig): string {
  const out = [
    '# Written by kumo (elbv2); rewritten on every change. Do not edit.',
    'global',
    `  node ${c.generation}`,
    `  stats socket ${c.dir}/stats.sock mode 600 level admin`,
    `  hard-stop-after ${Math.max(1, c.drainSeconds)}s`,
    '  maxconn 4096',
    '',
    'defaults',
    '  mode http',
    '  retries 0',
    '  timeout connect 10s',
    `  timeout client ${c.idleTimeoutSeconds}s`,
    `  timeout server ${c.idleTimeoutSeconds}s`,
    `  timeout http-request ${c.idleTimeoutSeconds}s`,
    // An idle client connection, between requests too, ends after the idle timeout (as on AWS).
    `  timeout http-keep-alive ${c.idleTimeoutSeconds}s`,
    '  timeout tunnel 1h',
    // A connection HAProxy could not make is its 503; an ALB says 502.
    `  errorfile 503 ${c.dir}/e502.http`,
    `  errorfile 502 ${c.dir}/e502.http`,
    `  errorfile 504 ${c.dir}/e504.http`,
    '',
  ];
  c.listeners.forEach((l) => {
    out.push(`frontend listener_${l.port}`, `  bind :${l.port}${l.tls ? ` ${tlsBind(c.dir, l.tls)}` : ''}`);
    if (l.mode === 'tcp') {
      out.push('  mode tcp', `  default_backend rule_${l.port}_0`, '');
      return;
    }
    if (c.xffMode === 'append') {
      const client = c.xffClientPort ? '%[src]:%[src_port]' : '%[src]';
      out.push(`  http-request set-header X-Forwarded-For "%[req.fhdr(x-forwarded-for)], ${client}" if { req.fhdr(x-forwarded-for) -m found }`);
      out.push(`  http-request set-header X-Forwarded-For "${client}" unless { req.fhdr(x-forwarded-for) -m found }`);
    } else if (c.xffMode === 'remove') out.push('  http-request del-header X-Forwarded-For');
    out.push(`  http-request set-header X-Forwarded-Proto ${l.tls ? 'https' : 'http'}`, `  http-request set-header X-Forwarded-Port ${l.port}`);
    // Root=1-<epoch seconds, 8 hex>-<24 hex>, as AWS writes it; a trace id the client sent is kept.
    if (l.traceId !== false) {
      out.push('  http-request set-header X-Amzn-Trace-Id "Root=1-%[date,bytes(4,4),hex,lower]-%[uuid,regsub(-,,g),bytes(0,24)]" unless { req.hdr(x-amzn-trace-id) -m found }');
    }
    l.rules.forEach((r, i) => {
      const when = r.conditions.map(conditionAcl).join(' ');
      out.push(`  http-request set-var(txn.route) int(${i}) if !{ var(txn.route) -m found }${when ? ` ${when}` : ''}`);
    });
    // HAProxy runs every http-request rule before any use_backend: they are written in that order.
    l.rules.forEach((r, i) => {
      const mine = `{ var(txn.route) -m int ${i} }`;
      const a = r.action;
      if (a.Type === 'redirect') {
        out.push(`  http-request redirect location "${redirectLocation(a.RedirectConfig!)}" code ${a.RedirectConfig!.StatusCode.slice(5)} if ${mine}`);
      } else if (a.Type === 'fixed-response') {
        const f = a.FixedResponseConfig!;
        const body = f.MessageBody ?? '';
        out.push(`  http-request return status ${f.StatusCode} content-type ${quote(f.ContentType ?? 'text/plain; charset=utf-8')} hdr Server awselb/2.0 ${body ? `string ${quote(body)}` : 'string ""'} if ${mine}`);
      }
    });
    l.rules.forEach((r, i) => {
      if (r.action.Type === 'forward') out.push(`  use_backend rule_${l.port}_${i} if { var(txn.route) -m int ${i} }`);
    });
    out.push('');
  });
  c.listeners.forEach((l) => {
    l.rules.forEach((r, i) => {
      if (r.backend) out.push(...backendLines(`rule_${l.port}_${i}`, r.backend, l.mode ?? 'http'), '');
    });
  });
  for (const p of c.probes) {
    out.push(
      `listen probe_${p.socket.replace(/\W/g, '_')}`,
      '  mode tcp',
      `  bind unix@${c.dir}/${p.socket} mode 600`,
      // Longer than any health-check timeout: kumo's checker decides when a check timed out.
      `  timeout connect ${p.connectTimeoutSeconds ?? 200}s`,
      '  timeout client 200s',
      '  timeout server 200s',
      `  server target ${p.address}:${p.port}`,
      '',
    );
  }
  return out.join('\n');
}
