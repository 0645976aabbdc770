/**
 * EC2 test fixture: a kumo with an EC2 client, the base AMI looked up the way users do it
 * (DescribeImages by owner and name), and waits on instance state with deadlines.
 */
import { DescribeImagesCommand, DescribeInstancesCommand, EC2Client, GetConsoleOutputCommand, type Instance } from '@aws-sdk/client-ec2';
import { clientConfig, startKumoForTest, TEST_PUBLIC_IP_POOL, useKumo, waitFor, type TestKumo } from './kumo.js';
import type { KumoConfig } from '../../src/config.js';

export interface Ec2Fixture {
  kumo: TestKumo;
  ec2: EC2Client;
  stop(): Promise<void>;
}

export async function ec2Fixture(overrides: Partial<KumoConfig> = {}): Promise<Ec2Fixture> {
  const kumo = await startKumoForTest({ elasticIpPool: TEST_PUBLIC_IP_POOL, ...overrides });
  const ec2 = new EC2Client(clientConfig(kumo.url));
  return {
    kumo,
    ec2,
    async stop() {
      ec2.destroy();
      await kumo.stop();
    },
  };
}

/** A kumo and an EC2 client for the whole test file (see useKumo). */
export function useEc2(assign: (f: { kumo: TestKumo; ec2: EC2Client }) => void, overrides: Partial<KumoConfig> = {}): void {
  useKumo((url) => new EC2Client(clientConfig(url)), ({ kumo, client }) => assign({ kumo, ec2: client }), overrides);
}

/** The newest Debian 12 AMI, found as a user finds it. */
export async function debianImageId(ec2: EC2Client): Promise<string> {
  const out = await ec2.send(new DescribeImagesCommand({ Owners: ['136693071363'], Filters: [{ Name: 'name', Values: ['debian-12-amd64-*'] }] }));
  const newest = (out.Images ?? []).sort((a, b) => (a.CreationDate ?? '').localeCompare(b.CreationDate ?? '')).at(-1);
  if (!newest?.ImageId) throw new Error('no Debian 12 AMI listed');
  return newest.ImageId;
}

export async function describeInstance(ec2: EC2Client, id: string): Promise<Instance> {
  const out = await ec2.send(new DescribeInstancesCommand({ InstanceIds: [id] }));
  return out.Reservations![0]!.Instances![0]!;
}

/** Waits until the instance is in `state` (a first boot may build the base image: minutes). */
export async function waitForState(ec2: EC2Client, id: string, state: string, timeoutMs = 5 * 60_000): Promise<Instance> {
  const found = await waitFor(`${id} to be ${state}`, async () => {
    const i = await describeInstance(ec2, id);
    if (i.State?.Name === 'terminated' && state !== 'terminated') throw new Error(`${id} terminated: ${i.StateReason?.Message}`);
    return i.State?.Name === state ? i : undefined;
  }, timeoutMs);
  return found!;
}

/** User data lines that install and enable a oneshot unit printing `hello-service-started` to the console at every boot. */
export const HELLO_SERVICE = `cat > /etc/systemd/system/hello.service <<'UNIT'
[Unit]
Description=hello
[Service]
Type=oneshot
ExecStart=/bin/echo hello-service-started
StandardOutput=journal+console
[Install]
WantedBy=multi-user.target
UNIT
systemctl enable hello.service
`;

/**
 * User data that runs an HTTP server on port 80 at every boot (`web.service`, the load-balancer
 * tests' targets): `python` imports http.server and defines its handler class `Web`, which
 * logs nothing.
 */
export const webServiceUserData = (python: string) => `#!/bin/bash
set -e
cat > /usr/local/bin/web <<'PY'
#!/usr/bin/env python3
${python}    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(("0.0.0.0", 80), Web).serve_forever()
PY
chmod 755 /usr/local/bin/web
cat > /etc/systemd/system/web.service <<'UNIT'
[Service]
ExecStart=/usr/local/bin/web
[Install]
WantedBy=multi-user.target
UNIT
systemctl enable --now web
`;

/**
 * User data lines that install (not enable) `counter.service`: HTTP on port 80 answering how many
 * requests it has answered, counted in memory, so a restart or a reboot starts it over at 1.
 */
export const COUNTER_SERVICE = `cat > /usr/local/bin/counter.py <<'PY'
import http.server
count = 0
class Counter(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        global count
        count += 1
        body = str(count).encode()
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *args):
        pass
http.server.ThreadingHTTPServer(('', 80), Counter).serve_forever()
PY
cat > /etc/systemd/system/counter.service <<'UNIT'
[Unit]
Description=request counter
[Service]
ExecStart=/usr/bin/python3 /usr/local/bin/counter.py
[Install]
WantedBy=multi-user.target
UNIT
`;

/** Everything the instance printed on its console so far. */
export async function consoleText(ec2: EC2Client, id: string): Promise<string> {
  const out = await ec2.send(new GetConsoleOutputCommand({ InstanceId: id }));
  return Buffer.from(out.Output ?? '', 'base64').toString();
}

export const occurrences = (text: string, word: string) => text.split(word).length - 1;
