/**
 * Load balancers on real traffic, the parts of the data path users lean on hardest (the ALB of
 * elb-traffic.test.ts, with TLS and long-lived connections):
 *
 * - HTTPS listeners end TLS with an ACM certificate kumo's CA issued: Node's https and curl reach
 *   the load balancer's DNS name trusting kumo's CA (GET /_kumo/ca.pem), a client that does not
 *   trust it is refused; an imported certificate is served by SNI; targets see
 *   X-Forwarded-Proto https and X-Forwarded-Port 443
 * - keep-alive: one client connection carries several requests (HTTP and HTTPS)
 * - streaming: a target's chunked response reaches the client chunk by chunk, before it ends
 * - WebSocket upgrades pass through, over ws:// and wss://
 * - forward with weights: a forward action to two target groups weighted 80/20
 * - a network load balancer's TLS listener, and a classic load balancer's HTTPS listener
 *
 * Needs root and haproxy (skips otherwise; fails under KUMO_REQUIRE_NATIVE=1).
 */
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { Resolver } from 'node:dns/promises';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { Agent as HttpAgent, request as httpRequest, type IncomingMessage } from 'node:http';
import { Agent as HttpsAgent, request as httpsRequest } from 'node:https';
import type { Socket } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { connect as tlsConnect } from 'node:tls';
import { ACMClient, ImportCertificateCommand, RequestCertificateCommand } from '@aws-sdk/client-acm';
import {
  AttachInternetGatewayCommand, AuthorizeSecurityGroupIngressCommand, CreateInternetGatewayCommand, CreateSecurityGroupCommand, CreateSubnetCommand,
  CreateVpcCommand, EC2Client, RunInstancesCommand, type Instance,
} from '@aws-sdk/client-ec2';
import {
  AddListenerCertificatesCommand, CreateListenerCommand, CreateLoadBalancerCommand, CreateRuleCommand, CreateTargetGroupCommand, DeleteLoadBalancerCommand,
  DescribeListenersCommand, DescribeLoadBalancersCommand, DescribeTargetHealthCommand, ElasticLoadBalancingV2Client, RegisterTargetsCommand, type LoadBalancer,
} from '@aws-sdk/client-elastic-load-balancing-v2';
import { clientConfig, startKumoForTest, TEST_PUBLIC_IP_POOL, waitFor, type TestKumo } from '../helpers/kumo.js';
import { debianImageId, waitForState, webServiceUserData } from '../helpers/ec2.js';
import { aws, awsJson } from '../helpers/python.js';
import { nodeDirs, processesOf } from '../../src/services/elbv2/dataplane/haproxy.js';
import { inside } from './instance-access.js';
import { haproxySkipReason, leftovers, nativeSkipReason } from './support.js';

const skip = nativeSkipReason() ?? haproxySkipReason();
/** What the tests share: the kumo, its clients, the ALB and the ids the hook made. */
const the = { dnsServer: '', caPem: '', scratch: '', certArn: '', subnetA: '', vpcId: '', elbSg: '', tgOne: '' } as {
  kumo: TestKumo; ec2: EC2Client; elb: ElasticLoadBalancingV2Client; acm: ACMClient; lb: LoadBalancer;
  dnsServer: string; caPem: string; scratch: string; certArn: string; subnetA: string; vpcId: string; elbSg: string; tgOne: string;
};
const at: Record<'web1' | 'web2', Instance> = {} as never;

/**
 * HTTP/1.1 on 80: its name at /, request headers at /headers, a chunked response at /stream that
 * holds its last chunk until /tmp/go exists, and a WebSocket echo at /ws (by hand: no packages).
 */
const webUserData = (name: string) => webServiceUserData(`import base64, hashlib, http.server, json, os, struct, time
NAME = b"${name}"
class Web(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    def do_GET(self):
        if self.headers.get("Upgrade", "").lower() == "websocket":
            return self.websocket()
        if self.path == "/stream":
            return self.stream()
        body = NAME + b"\\n"
        if self.path == "/headers":
            body = json.dumps({k.lower(): v for k, v in self.headers.items()}).encode()
        self.send_response(200)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def chunk(self, data):
        self.wfile.write(b"%x\\r\\n%s\\r\\n" % (len(data), data))
        self.wfile.flush()
    def stream(self):
        self.send_response(200)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Transfer-Encoding", "chunked")
        self.end_headers()
        self.chunk(b"first\\n")
        for _ in range(600):
            if os.path.exists("/tmp/go"):
                break
            time.sleep(0.1)
        self.chunk(b"last\\n")
        self.wfile.write(b"0\\r\\n\\r\\n")
        self.wfile.flush()
    def websocket(self):
        key = self.headers["Sec-WebSocket-Key"] + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
        self.send_response(101)
        self.send_header("Upgrade", "websocket")
        self.send_header("Connection", "Upgrade")
        self.send_header("Sec-WebSocket-Accept", base64.b64encode(hashlib.sha1(key.encode()).digest()).decode())
        self.end_headers()
        self.wfile.flush()
        self.close_connection = True
        while True:
            head = self.rfile.read(2)
            if len(head) < 2:
                return
            n = head[1] & 0x7f
            if n == 126:
                n = struct.unpack(">H", self.rfile.read(2))[0]
            mask = self.rfile.read(4) if head[1] & 0x80 else b"\\0\\0\\0\\0"
            data = bytes(b ^ mask[i % 4] for i, b in enumerate(self.rfile.read(n)))
            if head[0] & 0x0f == 8:
                self.wfile.write(b"\\x88\\x00")
                self.wfile.flush()
                return
            reply = NAME + b" says " + data
            self.wfile.write(bytes([0x81, len(reply)]) + reply)
            self.wfile.flush()
`);

// One hook does it all: node 20 runs a file's before hooks concurrently.
before(async () => {
  if (skip) return;
  the.kumo = await startKumoForTest({ elasticIpPool: TEST_PUBLIC_IP_POOL });
  the.ec2 = new EC2Client(clientConfig(the.kumo.url));
  the.elb = new ElasticLoadBalancingV2Client(clientConfig(the.kumo.url));
  the.acm = new ACMClient(clientConfig(the.kumo.url));
  the.dnsServer = ((await (await fetch(`${the.kumo.url}/_kumo/health`)).json()) as { dns: string }).dns;
  the.caPem = await (await fetch(`${the.kumo.url}/_kumo/ca.pem`)).text();
  the.scratch = mkdtempSync(join(tmpdir(), 'kumo-elb-https-'));
  writeFileSync(join(the.scratch, 'ca.pem'), the.caPem);
  const ami = await debianImageId(the.ec2);
  the.vpcId = (await the.ec2.send(new CreateVpcCommand({ CidrBlock: '10.0.0.0/16' }))).Vpc!.VpcId!;
  const igw = (await the.ec2.send(new CreateInternetGatewayCommand({}))).InternetGateway!.InternetGatewayId!;
  await the.ec2.send(new AttachInternetGatewayCommand({ InternetGatewayId: igw, VpcId: the.vpcId }));
  const subnet = async (cidr: string, zone: string) => (await the.ec2.send(new CreateSubnetCommand({ VpcId: the.vpcId, CidrBlock: cidr, AvailabilityZone: zone }))).Subnet!.SubnetId!;
  the.subnetA = await subnet('10.0.0.0/24', 'ap-northeast-1a');
  const subnetC = await subnet('10.0.1.0/24', 'ap-northeast-1c');
  const sg = async (name: string) => (await the.ec2.send(new CreateSecurityGroupCommand({ VpcId: the.vpcId, GroupName: name, Description: name }))).GroupId!;
  the.elbSg = await sg('elb-sg');
  const webSg = await sg('web-sg');
  await the.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: the.elbSg, IpPermissions: [80, 443].map((p) => ({ IpProtocol: 'tcp', FromPort: p, ToPort: p, IpRanges: [{ CidrIp: '0.0.0.0/0' }] })) }));
  await the.ec2.send(new AuthorizeSecurityGroupIngressCommand({ GroupId: webSg, IpPermissions: [{ IpProtocol: 'tcp', FromPort: 80, ToPort: 80, UserIdGroupPairs: [{ GroupId: the.elbSg }] }] }));
  const launch = async (name: string, SubnetId: string) =>
    (await the.ec2.send(new RunInstancesCommand({
      ImageId: ami, MinCount: 1, MaxCount: 1, InstanceType: 't3.micro', SubnetId, SecurityGroupIds: [webSg], UserData: Buffer.from(webUserData(name)).toString('base64'),
    }))).Instances![0]!.InstanceId!;
  const [web1, web2] = await Promise.all([launch('web1', the.subnetA), launch('web2', subnetC)]);
  const tg = async (Name: string, id: string) => {
    const arn = (await the.elb.send(new CreateTargetGroupCommand({
      Name, Protocol: 'HTTP', Port: 80, VpcId: the.vpcId, HealthCheckPath: '/', HealthCheckIntervalSeconds: 5, HealthCheckTimeoutSeconds: 2, HealthyThresholdCount: 2,
    }))).TargetGroups![0]!.TargetGroupArn!;
    await the.elb.send(new RegisterTargetsCommand({ TargetGroupArn: arn, Targets: [{ Id: id }] }));
    return arn;
  };
  the.tgOne = await tg('one', web1);
  const tgTwo = await tg('two', web2);
  // Certificates for every load balancer name here, from kumo's CA: the ALB's and the classic
  // one's (<name>-<n>.<region>.elb.amazonaws.com) and the NLB's (<name>-<hex>.elb.<region>.amazonaws.com).
  the.certArn = (await the.acm.send(new RequestCertificateCommand({
    DomainName: '*.ap-northeast-1.elb.amazonaws.com', SubjectAlternativeNames: ['*.elb.ap-northeast-1.amazonaws.com'], ValidationMethod: 'DNS',
  }))).CertificateArn!;
  the.lb = (await the.elb.send(new CreateLoadBalancerCommand({ Name: 'Test-TLS', Subnets: [the.subnetA, subnetC], SecurityGroups: [the.elbSg] }))).LoadBalancers![0]!;
  const weighted = [{ Type: 'forward' as const, ForwardConfig: { TargetGroups: [{ TargetGroupArn: the.tgOne, Weight: 80 }, { TargetGroupArn: tgTwo, Weight: 20 }] } }];
  const listeners: string[] = [];
  for (const [Protocol, Port] of [['HTTP', 80], ['HTTPS', 443]] as const) {
    listeners.push((await the.elb.send(new CreateListenerCommand({
      LoadBalancerArn: the.lb.LoadBalancerArn, Protocol, Port, DefaultActions: weighted, ...(Protocol === 'HTTPS' ? { Certificates: [{ CertificateArn: the.certArn }] } : {}),
    }))).Listeners![0]!.ListenerArn!);
  }
  // Streams and WebSockets go to web1 alone, whose /tmp/go the test controls.
  for (const ListenerArn of listeners) {
    await the.elb.send(new CreateRuleCommand({
      ListenerArn, Priority: 1, Conditions: [{ Field: 'path-pattern', PathPatternConfig: { Values: ['/stream', '/ws', '/headers'] } }], Actions: [{ Type: 'forward', TargetGroupArn: the.tgOne }],
    }));
  }
  for (const [name, id] of Object.entries({ web1, web2 })) at[name as keyof typeof at] = await waitForState(the.ec2, id, 'running');
  await waitFor('the load balancer to be active', async () => (await the.elb.send(new DescribeLoadBalancersCommand({ LoadBalancerArns: [the.lb.LoadBalancerArn!] }))).LoadBalancers![0]!.State!.Code === 'active', 60_000);
  for (const arn of [the.tgOne, tgTwo]) {
    await waitFor('targets healthy', async () => (await the.elb.send(new DescribeTargetHealthCommand({ TargetGroupArn: arn }))).TargetHealthDescriptions![0]!.TargetHealth!.State === 'healthy', 180_000);
  }
  // DescribeTargetHealth leads the proxies by up to a pass of the supervisor.
  await waitFor('both groups in service', async () => {
    const seen = new Set<string>();
    for (let i = 0; i < 10; i++) seen.add((await get(80, '/')).body);
    return seen.size === 2;
  }, 20_000);
});

after(async () => {
  if (skip) return;
  const nodes = nodeDirs(join(the.kumo.dataDir, 'elbv2'));
  for (const c of [the.ec2, the.elb, the.acm]) c.destroy();
  await the.kumo.stop();
  rmSync(the.scratch, { recursive: true, force: true });
  assert.deepEqual(nodes.flatMap((n) => processesOf(n.dir)), [], 'kumo stop leaves no HAProxy running');
  for (const i of Object.values(at)) assert.deepEqual(leftovers(i.InstanceId!), [], i.InstanceId);
  for (const n of nodes) assert.deepEqual(leftovers(n.eniId), [], n.eniId);
});

async function addresses(name: string): Promise<string[]> {
  const r = new Resolver();
  r.setServers([the.dnsServer]);
  return r.resolve4(name);
}

type Answer = { status: number; body: string; headers: IncomingMessage['headers']; reused: boolean };

/** One request to the ALB's first address on `port` (HTTPS on 443, trusting kumo's CA, for its DNS name). */
async function get(port: number, path: string, opts: { agent?: HttpAgent; name?: string; servername?: string } = {}): Promise<Answer> {
  const name = opts.name ?? the.lb.DNSName!;
  const [ip] = await addresses(name);
  const secure = port === 443;
  return new Promise((resolve, reject) => {
    const req = (secure ? httpsRequest : httpRequest)(
      { host: ip, port, path, headers: { Host: name }, agent: opts.agent ?? false, timeout: 10_000, ...(secure ? { ca: the.caPem, servername: opts.servername ?? name } : {}) },
      (res) => {
        let body = '';
        res.setEncoding('utf8');
        res.on('data', (d) => (body += d));
        res.on('end', () => resolve({ status: res.statusCode!, body: body.trim(), headers: res.headers, reused: req.reusedSocket }));
      },
    );
    req.on('timeout', () => req.destroy(new Error('timed out')));
    req.on('error', reject);
    req.end();
  });
}

function run(cmd: string, args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => execFile(cmd, args, { encoding: 'utf8' }, (err, stdout, stderr) => resolve({ code: err ? Number(err.code ?? 1) : 0, stdout, stderr })));
}

test('HTTPS: the certificate kumo issued, trusted through kumo\'s CA (Node and curl); an untrusting client is refused; SNI; X-Forwarded-Proto https', { skip, timeout: 60_000 }, async () => {
  const headers = JSON.parse((await get(443, '/headers')).body) as Record<string, string>;
  assert.equal(headers['x-forwarded-proto'], 'https');
  assert.equal(headers['x-forwarded-port'], '443');
  assert.match(headers['x-forwarded-for']!, /^\d+\.\d+\.\d+\.\d+$/);
  const [ip] = await addresses(the.lb.DNSName!);
  // curl negotiates HTTP/2 by ALPN, as browsers do with an ALB.
  const curl = await run('curl', ['-sS', '--cacert', join(the.scratch, 'ca.pem'), '--resolve', `${the.lb.DNSName}:443:${ip}`, '-w', ' %{http_version}', `https://${the.lb.DNSName}/headers`]);
  assert.equal(curl.code, 0, curl.stderr);
  assert.match(curl.stdout, /"x-forwarded-proto": "https".* 2$/s);
  const untrusting = await run('curl', ['-sS', '--resolve', `${the.lb.DNSName}:443:${ip}`, `https://${the.lb.DNSName}/`]);
  assert.notEqual(untrusting.code, 0, 'a client that does not trust kumo\'s CA is refused');
  assert.match(untrusting.stderr, /certificate/i);

  // An imported certificate, served to clients that ask for its name.
  const own = await run('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', join(the.scratch, 'shop.key'), '-out', join(the.scratch, 'shop.pem'), '-days', '30', '-subj', '/CN=shop.example.org', '-addext', 'subjectAltName=DNS:shop.example.org']);
  assert.equal(own.code, 0, own.stderr);
  const shop = (await the.acm.send(new ImportCertificateCommand({ Certificate: readFileSync(join(the.scratch, 'shop.pem')), PrivateKey: readFileSync(join(the.scratch, 'shop.key')) }))).CertificateArn!;
  const listener = (await the.elb.send(new DescribeListenersCommand({ LoadBalancerArn: the.lb.LoadBalancerArn }))).Listeners!.find((l) => l.Port === 443)!;
  await the.elb.send(new AddListenerCertificatesCommand({ ListenerArn: listener.ListenerArn, Certificates: [{ CertificateArn: shop }] }));
  const served = (servername: string) =>
    new Promise<string>((resolve, reject) => {
      const s = tlsConnect({ host: ip, port: 443, servername, rejectUnauthorized: false }, () => {
        resolve(String(s.getPeerCertificate().subject.CN));
        s.end();
      });
      s.on('error', reject);
    });
  await waitFor('the SNI certificate served', async () => (await served('shop.example.org')) === 'shop.example.org', 20_000);
  assert.equal(await served(the.lb.DNSName!), '*.ap-northeast-1.elb.amazonaws.com', 'the default certificate for any other name');
});

test('keep-alive: one connection carries many requests, on HTTP and HTTPS', { skip, timeout: 60_000 }, async () => {
  for (const [port, agent] of [[80, new HttpAgent({ keepAlive: true, maxSockets: 1 })], [443, new HttpsAgent({ keepAlive: true, maxSockets: 1, ca: the.caPem })]] as const) {
    const answers: Answer[] = [];
    for (let i = 0; i < 4; i++) answers.push(await get(port, '/', { agent }));
    agent.destroy();
    assert.ok(answers.every((a) => a.status === 200));
    assert.deepEqual(answers.map((a) => a.reused), [false, true, true, true], `port ${port}: the first connection was kept for the next requests`);
  }
});

test('streaming: a chunked response reaches the client chunk by chunk, before the target has finished', { skip, timeout: 60_000 }, async () => {
  for (const port of [80, 443]) {
    await inside(at.web1.InstanceId!, 'rm -f /tmp/go');
    const [ip] = await addresses(the.lb.DNSName!);
    const chunks: string[] = [];
    const done = new Promise<void>((resolve, reject) => {
      const req = (port === 443 ? httpsRequest : httpRequest)(
        { host: ip, port, path: '/stream', headers: { Host: the.lb.DNSName! }, agent: false, ...(port === 443 ? { ca: the.caPem, servername: the.lb.DNSName! } : {}) },
        (res) => {
          assert.equal(res.headers['transfer-encoding'], 'chunked');
          res.setEncoding('utf8');
          res.on('data', (d: string) => chunks.push(d));
          res.on('end', resolve);
        },
      );
      req.on('error', reject);
      req.end();
    });
    // The target holds its last chunk until told: the first one can only have come through on its own.
    await waitFor('the first chunk', () => chunks.join('') === 'first\n', 20_000);
    await inside(at.web1.InstanceId!, 'touch /tmp/go');
    await done;
    assert.equal(chunks.join(''), 'first\nlast\n');
  }
});

/** A WebSocket round trip by hand (RFC 6455): upgrade, one masked text frame out, one frame back. */
function webSocketEcho(port: number, message: string): Promise<string> {
  return new Promise((resolve, reject) => {
    void addresses(the.lb.DNSName!).then(([ip]) => {
      const key = randomBytes(16).toString('base64');
      const req = (port === 443 ? httpsRequest : httpRequest)({
        host: ip, port, path: '/ws', agent: false,
        headers: { Host: the.lb.DNSName!, Connection: 'Upgrade', Upgrade: 'websocket', 'Sec-WebSocket-Key': key, 'Sec-WebSocket-Version': '13' },
        ...(port === 443 ? { ca: the.caPem, servername: the.lb.DNSName! } : {}),
      });
      req.on('response', (res) => reject(new Error(`no upgrade: ${res.statusCode}`)));
      req.on('error', reject);
      req.on('upgrade', (res: IncomingMessage, socket: Socket, head: Buffer) => {
        const accept = createHash('sha1').update(`${key}258EAFA5-E914-47DA-95CA-C5AB0DC85B11`).digest('base64');
        if (res.headers['sec-websocket-accept'] !== accept) return reject(new Error('bad Sec-WebSocket-Accept'));
        let got = head;
        const onData = (d: Buffer) => {
          got = Buffer.concat([got, d]);
          if (got.length < 2 || got.length < 2 + (got[1]! & 0x7f)) return;
          socket.off('data', onData);
          resolve(got.subarray(2, 2 + (got[1]! & 0x7f)).toString('utf8'));
          socket.end(Buffer.from([0x88, 0x80, 0, 0, 0, 0]));
        };
        socket.on('data', onData);
        onData(Buffer.alloc(0));
        const mask = randomBytes(4);
        const payload = Buffer.from(message).map((b, i) => b ^ mask[i % 4]!);
        socket.write(Buffer.concat([Buffer.from([0x81, 0x80 | payload.length]), mask, payload]));
      });
      req.end();
    }, reject);
  });
}

test('WebSocket upgrades pass through (ws:// and wss://)', { skip, timeout: 60_000 }, async () => {
  assert.equal(await webSocketEcho(80, 'hello'), 'web1 says hello');
  assert.equal(await webSocketEcho(443, 'over tls'), 'web1 says over tls');
});

test('forward with weights: two target groups weighted 80/20 share the requests so', { skip, timeout: 60_000 }, async () => {
  const agent = new HttpAgent({ keepAlive: true, maxSockets: 1 });
  const counts = { web1: 0, web2: 0 } as Record<string, number>;
  for (let i = 0; i < 200; i++) counts[(await get(80, '/', { agent })).body]!++;
  agent.destroy();
  console.log(`# 200 requests: ${JSON.stringify(counts)}`);
  assert.equal(counts.web1! + counts.web2!, 200);
  assert.ok(counts.web1! >= 140 && counts.web1! <= 180, `web1 (weight 80) got ${counts.web1} of 200`);
});

test('a network load balancer\'s TLS listener ends TLS and passes the bytes on', { skip, timeout: 90_000 }, async () => {
  const tcp = (await the.elb.send(new CreateTargetGroupCommand({
    Name: 'tls-tcp', Protocol: 'TCP', Port: 80, VpcId: the.vpcId, HealthCheckIntervalSeconds: 5, HealthCheckTimeoutSeconds: 2, HealthyThresholdCount: 2,
  }))).TargetGroups![0]!.TargetGroupArn!;
  await the.elb.send(new RegisterTargetsCommand({ TargetGroupArn: tcp, Targets: [{ Id: at.web1.InstanceId! }] }));
  const nlb = (await the.elb.send(new CreateLoadBalancerCommand({ Name: 'tls-nlb', Type: 'network', Subnets: [the.subnetA], SecurityGroups: [the.elbSg] }))).LoadBalancers![0]!;
  const l = (await the.elb.send(new CreateListenerCommand({
    LoadBalancerArn: nlb.LoadBalancerArn, Protocol: 'TLS', Port: 443, Certificates: [{ CertificateArn: the.certArn }], SslPolicy: 'ELBSecurityPolicy-TLS13-1-2-2021-06', DefaultActions: [{ Type: 'forward', TargetGroupArn: tcp }],
  }))).Listeners![0]!;
  assert.deepEqual(l.AlpnPolicy, ['None']);
  const answer = await waitFor('the NLB over TLS', async () => {
    const a = await get(443, '/headers', { name: nlb.DNSName! }).catch(() => undefined);
    return a?.status === 200 ? a : undefined;
  }, 60_000);
  const headers = JSON.parse(answer!.body) as Record<string, string>;
  assert.equal(headers['x-forwarded-proto'], undefined, 'TCP mode: the bytes as the client sent them');
  await the.elb.send(new DeleteLoadBalancerCommand({ LoadBalancerArn: nlb.LoadBalancerArn }));
});

test('a classic load balancer\'s HTTPS listener with an ACM certificate', { skip, timeout: 90_000 }, async () => {
  const url = the.kumo.url;
  const dns = (await awsJson<{ DNSName: string }>(url, [
    'elb', 'create-load-balancer', '--load-balancer-name', 'tls-classic', '--subnets', the.subnetA, '--security-groups', the.elbSg,
    '--listeners', `Protocol=HTTPS,LoadBalancerPort=443,InstanceProtocol=HTTP,InstancePort=80,SSLCertificateId=${the.certArn}`,
  ])).DNSName;
  await awsJson(url, ['elb', 'configure-health-check', '--load-balancer-name', 'tls-classic', '--health-check', 'Target=HTTP:80/,Interval=5,Timeout=2,UnhealthyThreshold=2,HealthyThreshold=2']);
  await awsJson(url, ['elb', 'register-instances-with-load-balancer', '--load-balancer-name', 'tls-classic', '--instances', at.web1.InstanceId!]);
  const answer = await waitFor('the classic load balancer over HTTPS', async () => {
    const a = await get(443, '/headers', { name: dns }).catch(() => undefined);
    return a?.status === 200 ? a : undefined;
  }, 60_000);
  const headers = JSON.parse(answer!.body) as Record<string, string>;
  assert.deepEqual([headers['x-forwarded-proto'], headers['x-forwarded-port']], ['https', '443']);
  await aws(url, ['elb', 'delete-load-balancer', '--load-balancer-name', 'tls-classic']);
});
