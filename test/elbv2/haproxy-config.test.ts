// The HAProxy configuration a load-balancer node runs (pure rendering), and, where haproxy is
// installed, that HAProxy accepts it (`haproxy -c`), quotes and all.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { promisify } from 'node:util';
import { renderConfig, wildcardRegex, type NodeConfig } from '../../src/services/elbv2/dataplane/haproxy-config.js';
import { matches } from '../../src/services/elbv2/dataplane/health.js';
import { parseHealthTarget } from '../../src/services/elbv2/classic/group.js';
import { which } from '../../src/runtime/detect.js';

const exec = promisify(execFile);

const server = (address: string, groupWeight = 1, groupSize = 1) => ({ address, port: 80, groupWeight, groupSize });

const config = (dir: string): NodeConfig => ({
  dir,
  generation: 'g1',
  idleTimeoutSeconds: 60,
  xffMode: 'append',
  xffClientPort: false,
  drainSeconds: 300,
  listeners: [
    {
      port: 80,
      rules: [
        { conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ["/api/*", "/it's/$x"] } }], action: { Type: 'forward' }, backend: { servers: [server('10.0.0.5', 3, 1), server('10.0.1.5', 1, 2), server('10.0.1.6', 1, 2)], leastOutstanding: true } },
        { conditions: [{ Field: 'host-header', HostHeaderConfig: { Values: ['*.Example.com'] } }], action: { Type: 'fixed-response', FixedResponseConfig: { StatusCode: '418', ContentType: 'text/plain', MessageBody: 'a "teapot" at 100% $HOME' } } },
        { conditions: [{ Field: 'query-string', QueryStringConfig: { Values: [{ Key: 'v', Value: '2' }] } }, { Field: 'source-ip', SourceIpConfig: { Values: ['10.0.0.0/8'] } }], action: { Type: 'redirect', RedirectConfig: { Protocol: 'HTTPS', Port: '443', Host: '#{host}', Path: '/v2/#{path}', Query: '#{query}', StatusCode: 'HTTP_302' } } },
        { conditions: [{ Field: 'http-header', HttpHeaderConfig: { HttpHeaderName: 'X-Env', Values: ['dev?', "x'\nprogram evil\n  command touch /tmp/pwned"] } }, { Field: 'http-request-method', HttpRequestMethodConfig: { Values: ['GET', 'HEAD'] } }], action: { Type: 'forward' }, backend: { servers: [], leastOutstanding: false } },
        { conditions: [], action: { Type: 'forward' }, backend: { servers: [server('10.0.0.5')], leastOutstanding: false, stickySeconds: 86400 } },
      ],
    },
    { port: 8000, mode: 'tcp', traceId: false, rules: [{ conditions: [], action: { Type: 'forward' }, backend: { servers: [server('10.0.0.5')], leastOutstanding: false } }] },
  ],
  // Text users give must never become configuration of its own.
  probes: [{ socket: 'h0.sock', address: '10.0.0.5', port: 80 }, { socket: 'h1.sock', address: '10.0.0.6', port: 22, connectTimeoutSeconds: 5 }],
});

test('rules keep their priority order: the first match sets the route, actions follow it', () => {
  const text = renderConfig(config('/d'));
  const routes = [...text.matchAll(/set-var\(txn\.route\) int\((\d)\)/g)].map((m) => Number(m[1]));
  assert.deepEqual(routes, [0, 1, 2, 3, 4]);
  assert.match(text, /int\(4\) if !\{ var\(txn\.route\) -m found \}\n/, 'the default rule matches what nothing else did');
  // Every http-request rule comes before any use_backend (HAProxy runs them first anyway).
  const frontend = text.slice(text.indexOf('frontend listener_80'), text.indexOf('\n\n', text.indexOf('frontend listener_80')));
  assert.ok(frontend.lastIndexOf('  http-request') < frontend.indexOf('  use_backend'));
  assert.match(text, /http-request redirect location "https:\/\/%\[req\.hdr\(host\),field\(1,:\)\]\/v2%\[path\]\?%\[query\]" code 302/);
  assert.match(text, /return status 418 content-type "text\/plain" hdr Server awselb\/2\.0 string "a \\"teapot\\" at 100% \\\$HOME"/);
});

test('weights split a group\'s share among its servers; no server: AWS\'s 503; stickiness; TCP listeners', () => {
  const text = renderConfig(config('/d'));
  assert.match(text, /backend rule_80_0\n  mode http\n  balance leastconn\n  server s0 10\.0\.0\.5:80 weight 256\n  server s1 10\.0\.1\.5:80 weight 43\n  server s2 10\.0\.1\.6:80 weight 43/);
  assert.match(text, /backend rule_80_3\n  mode http\n  balance roundrobin\n  http-request return status 503 .*503 Service Temporarily Unavailable/);
  assert.match(text, /cookie AWSALB insert indirect nocache maxlife 86400s\n  server s0 10\.0\.0\.5:80 weight 256 cookie s0/);
  assert.match(text, /frontend listener_8000\n  bind :8000\n  mode tcp\n  default_backend rule_8000_0/);
  assert.match(text, /listen probe_h1_sock\n  mode tcp\n  bind unix@\/d\/h1\.sock mode 600\n  timeout connect 5s/);
});

test('HAProxy accepts the configuration', { skip: which('haproxy') ? undefined : 'haproxy is not installed' }, async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-haproxy-'));
  try {
    for (const f of ['e502.http', 'e503.http', 'e504.http']) writeFileSync(join(dir, f), 'HTTP/1.1 502 Bad Gateway\r\n\r\n');
    writeFileSync(join(dir, 'haproxy.cfg'), renderConfig(config(dir)));
    await exec('haproxy', ['-c', '-q', '-f', join(dir, 'haproxy.cfg')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('users\' text cannot end a line or a string of the configuration', () => {
  const c = config('/d');
  c.listeners[0]!.rules[1]!.action = { Type: 'fixed-response', FixedResponseConfig: { StatusCode: '200', MessageBody: 'a"\r\nprogram evil\n  command touch /tmp/pwned\u0000' } };
  const text = renderConfig(c);
  assert.ok(!/^\s*(program|command)\b/m.test(text), text);
  assert.ok(text.includes(String.raw`string "a\"\nprogram evil\n  command touch /tmp/pwned"`), 'the body stays one string');
  assert.ok(text.includes(String.raw`'^x\x27\x0aprogram evil\x0a  command touch /tmp/pwned$'`), 'the header value stays one regex');
});

test('AWS\'s wildcards, matchers and classic health-check targets', () => {
  assert.ok(new RegExp(wildcardRegex('/api/*')).test('/api/v1/x'));
  assert.ok(!new RegExp(wildcardRegex('/api/*')).test('/apix'));
  assert.ok(new RegExp(wildcardRegex('a?c.example.com')).test('abc.example.com'));
  assert.ok(!new RegExp(wildcardRegex('a?c.example.com')).test('abcxexample.com'), 'a dot is a dot');
  assert.ok(matches('200', 200) && !matches('200', 201));
  assert.ok(matches('200-299', 204) && !matches('200-299', 302));
  assert.ok(matches('200,302', 302));
  assert.deepEqual(parseHealthTarget('HTTP:80/index.html'), { protocol: 'HTTP', port: 80, path: '/index.html' });
  assert.deepEqual(parseHealthTarget('tcp:22'), { protocol: 'TCP', port: 22, path: undefined });
  assert.equal(parseHealthTarget('HTTP:80'), undefined, 'HTTP needs a path');
  assert.equal(parseHealthTarget('TCP:22/x'), undefined, 'TCP has none');
});

test('TLS listeners: certificates (the default first), the policy\'s versions and ciphers, ALPN; X-Forwarded-Proto https; TLS to HTTPS targets', async () => {
  const dir = mkdtempSync(join(tmpdir(), 'kumo-haproxy-'));
  try {
    const c = config(dir);
    const certificates = ['cert-00000000000000aa.pem', 'cert-00000000000000bb.pem'];
    c.listeners.push(
      {
        port: 443,
        tls: { certificates, minVersion: 'TLSv1.2', maxVersion: 'TLSv1.3', ciphers: ['ECDHE-RSA-AES128-GCM-SHA256'], ciphersuites: ['TLS_AES_128_GCM_SHA256'], alpn: 'h2,http/1.1' },
        rules: [{ conditions: [], action: { Type: 'forward' }, backend: { servers: [{ ...server('10.0.0.5'), port: 443, tls: true }], leastOutstanding: false } }],
      },
      { port: 8443, mode: 'tcp', tls: { certificates: certificates.slice(0, 1), minVersion: 'TLSv1.3', maxVersion: 'TLSv1.3', ciphers: [], ciphersuites: ['TLS_AES_128_GCM_SHA256'] }, rules: [{ conditions: [], action: { Type: 'forward' }, backend: { servers: [server('10.0.0.5')], leastOutstanding: false } }] },
    );
    const text = renderConfig(c);
    assert.ok(text.includes(`bind :443 ssl crt ${dir}/cert-00000000000000aa.pem crt ${dir}/cert-00000000000000bb.pem ssl-min-ver TLSv1.2 ssl-max-ver TLSv1.3 ciphers ECDHE-RSA-AES128-GCM-SHA256 ciphersuites TLS_AES_128_GCM_SHA256 alpn h2,http/1.1`), text);
    assert.match(text, /frontend listener_443\n.*\n(.*\n)*  http-request set-header X-Forwarded-Proto https\n  http-request set-header X-Forwarded-Port 443/);
    assert.match(text, /server s0 10\.0\.0\.5:443 weight 256 ssl verify none/);
    assert.ok(text.includes(`bind :8443 ssl crt ${dir}/cert-00000000000000aa.pem ssl-min-ver TLSv1.3 ssl-max-ver TLSv1.3 ciphersuites TLS_AES_128_GCM_SHA256\n  mode tcp`));
    if (!which('haproxy') || !which('openssl')) return;
    for (const f of ['e502.http', 'e503.http', 'e504.http']) writeFileSync(join(dir, f), 'HTTP/1.1 502 Bad Gateway\r\n\r\n');
    for (const f of certificates) {
      await exec('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(dir, 'k'), '-out', join(dir, 'c'), '-days', '1', '-subj', '/CN=x']);
      writeFileSync(join(dir, f), readFileSync(join(dir, 'c'), 'utf8') + readFileSync(join(dir, 'k'), 'utf8'));
    }
    writeFileSync(join(dir, 'haproxy.cfg'), text);
    await exec('haproxy', ['-c', '-q', '-f', join(dir, 'haproxy.cfg')]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
