/**
 * kumo start --internet on the VPC fabric, as rules only: no packet is sent anywhere. A fabric
 * opened with it gives a VPC's router a default route and masquerades the instances that may go
 * out (a public IP in a subnet routed to an internet gateway; not the others), the host table
 * forwards and masquerades them, and ip_forward is on while it is open; closing it leaves none of
 * that behind and ip_forward as it was. A fabric opened without it (the default) has none of it.
 * Plugged namespaces stand in for instances (no nspawn).
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { Fabric, type PortSpec, type VpcPolicy, type VpcSpec } from '../../src/runtime/network/fabric.js';
import { exec } from '../../src/runtime/network/exec.js';
import { hostTable, routerNs } from '../../src/runtime/network/names.js';
import { fabricSkipReason } from './support.js';

const skip = fabricSkipReason(['ip', 'nft']);
const forwarding = () => readFileSync('/proc/sys/net/ipv4/ip_forward', 'utf8').trim();

const VPC: VpcSpec = {
  vpcId: `vpc-inet-${process.pid}`,
  cidrs: ['10.0.0.0/16'],
  subnets: [
    { subnetId: 'subnet-public', cidr: '10.0.1.0/24', naclId: 'acl', internet: true },
    { subnetId: 'subnet-private', cidr: '10.0.2.0/24', naclId: 'acl' },
  ],
};
const POLICY: VpcPolicy = { nacls: {}, securityGroups: { sg: { ingress: [], egress: [{ protocol: '-1', cidrs: ['0.0.0.0/0'], groups: [] }] } } };
const port = (name: string, subnetCidr: string, privateIp: string, publicIps: string[]): PortSpec =>
  ({ owner: 'test', portId: `i-${name}-${process.pid}`, vpcId: VPC.vpcId, subnetCidr, privateIp, groups: ['sg'], publicIps });

/** The VPC router's ruleset and routes, and the host table, of an open fabric with three instances plugged. */
async function wired(fabric: Fabric, slotPub: number) {
  await fabric.ensureVpc(VPC, POLICY);
  await fabric.plug(port('out', '10.0.1.0/24', '10.0.1.10', [`127.250.${slotPub}.10`]));
  await fabric.plug(port('nopublic', '10.0.1.0/24', '10.0.1.11', []));
  await fabric.plug(port('private', '10.0.2.0/24', '10.0.2.10', [`127.250.${slotPub}.12`]));
  const ns = routerNs(fabric.slot, VPC.vpcId);
  return {
    router: (await exec('ip', ['netns', 'exec', ns, 'nft', 'list', 'table', 'ip', 'kumo'])).trim(),
    defaultRoute: (await exec('ip', ['-n', ns, 'route', 'show', 'default'])).trim(),
    host: (await exec('nft', ['list', 'table', 'ip', hostTable(fabric.slot)])).trim(),
  };
}

test('--internet: a default route, masquerade for the instances that may go out, host forwarding; all gone at close', { skip, timeout: 60_000 }, async () => {
  const before = forwarding();
  const fabric = await Fabric.open({ internet: true });
  try {
    const w = await wired(fabric, fabric.slot);
    assert.match(w.defaultRoute, /^default via 198\.1[89]\.\d+\.\d+ dev uplink/);
    assert.match(w.router, /set internet \{\s+type ipv4_addr\s+elements = \{ 10\.0\.1\.10 \}/, 'public subnet and a public IP: only that one');
    assert.match(w.router, /oifname "uplink" ip saddr @internet ip daddr != [\d.]+ masquerade/);
    assert.match(w.host, /chain forward \{[\s\S]*iifname "kh\d+-\*" ip daddr 198\.18\.0\.0\/15 drop/);
    assert.match(w.host, /ip saddr 198\.1[89]\.\d+\.0\/21 oifname != "kh\d+-\*" masquerade/);
    assert.equal(forwarding(), '1', 'the host routes while the fabric is open');
  } finally {
    await fabric.close();
  }
  assert.equal(forwarding(), before, 'ip_forward as it was');
  assert.deepEqual(await Fabric.leftovers(fabric.slot), []);
});

test('by default: no default route, no masquerade, no forwarding', { skip, timeout: 60_000 }, async () => {
  const before = forwarding();
  const fabric = await Fabric.open();
  try {
    const w = await wired(fabric, fabric.slot);
    assert.equal(w.defaultRoute, '');
    assert.doesNotMatch(w.router, /masquerade|set internet/);
    assert.doesNotMatch(w.host, /chain forward|0\/21 .*masquerade/);
    assert.equal(forwarding(), before, 'ip_forward untouched');
  } finally {
    await fabric.close();
  }
  assert.deepEqual(await Fabric.leftovers(fabric.slot), []);
});
