/**
 * The pure half of the fabric: policy → nft text and the address plan. No root needed; the
 * nft syntax itself is exercised by network.test.ts, which loads these scripts into real tables.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { aclChain, normalizeCidr4, protoMatch, renderRouter, sgChain } from '../../src/runtime/network/rules.js';
import { renderHostTable } from '../../src/runtime/network/host-side.js';
import {
  hostVeth, portNs, isUsableTransit, routerNs, serviceAddress, slotOfLink, slotOfNetns, slotOfTable, transitAddress, uplinkAddresses,
} from '../../src/runtime/network/names.js';

test('address plan: one /21 of 198.18.0.0/15 per slot', () => {
  assert.equal(serviceAddress(0), '198.18.0.1');
  assert.equal(serviceAddress(1), '198.18.8.1');
  assert.equal(serviceAddress(63), '198.19.248.1');
  assert.deepEqual(uplinkAddresses(0, 1), { host: '198.18.0.5', router: '198.18.0.6' });
  assert.deepEqual(uplinkAddresses(2, 255), { host: '198.18.19.253', router: '198.18.19.254' });
  assert.throws(() => uplinkAddresses(0, 256));
  assert.equal(transitAddress(0, 1025), '198.18.4.1');
  assert.equal(isUsableTransit(1024), false); // .0
  assert.equal(isUsableTransit(1279), false); // .255
  assert.equal(isUsableTransit(1025), true);
  assert.equal(isUsableTransit(2048), false);
});

test('names carry the slot, fit interface limits and parse back', () => {
  assert.ok(hostVeth(63, 'vpc-0123456789abcdef0').length <= 15);
  assert.equal(slotOfLink(hostVeth(12, 'vpc-1')), 12);
  assert.equal(slotOfLink('kumos7'), 7);
  assert.equal(slotOfLink('eth0'), undefined);
  assert.equal(slotOfNetns(routerNs(3, 'vpc-1')), 3);
  assert.equal(slotOfNetns(portNs(3, 'i-0abc')), 3);
  assert.equal(slotOfNetns('kumo-i-0abc'), undefined, 'the instance driver\'s own namespaces are not ours');
  assert.equal(slotOfTable('kumo5'), 5);
  assert.equal(slotOfTable('kumo'), undefined);
});

test('CIDRs are normalised, IPv6 is left out', () => {
  assert.equal(normalizeCidr4('10.0.0.5/24'), '10.0.0.0/24');
  assert.equal(normalizeCidr4('10.0.0.5'), '10.0.0.5/32');
  assert.equal(normalizeCidr4('0.0.0.0/0'), '0.0.0.0/0');
  assert.equal(normalizeCidr4('::/0'), undefined);
  assert.equal(normalizeCidr4('10.0.0.0/33'), undefined);
});

test('protocol and port matches', () => {
  assert.equal(protoMatch('-1'), '');
  assert.equal(protoMatch('tcp', 80, 80), 'tcp dport 80');
  assert.equal(protoMatch('6', 1024, 65535), 'tcp dport 1024-65535');
  assert.equal(protoMatch('udp', 0, 65535), 'meta l4proto udp');
  assert.equal(protoMatch('17', -1, -1), 'meta l4proto udp');
  assert.equal(protoMatch('icmp', -1, -1), 'meta l4proto icmp');
  assert.equal(protoMatch('icmp', 8, -1), 'icmp type 8');
  assert.equal(protoMatch('1', 3, 4), 'icmp type 3 icmp code 4');
  assert.equal(protoMatch('47'), 'meta l4proto 47');
  assert.equal(protoMatch('58'), null);
  assert.throws(() => protoMatch('bogus'));
});

test('NACL chain: ordered by rule number, allow returns, deny and the end drop', () => {
  const chain = aclChain([
    { ruleNumber: 200, protocol: '-1', action: 'allow', cidr: '0.0.0.0/0' },
    { ruleNumber: 100, protocol: '6', action: 'deny', cidr: '10.0.1.0/24', fromPort: 80, toPort: 80 },
    { ruleNumber: 150, protocol: '-1', action: 'allow', cidr: '::/0' },
  ], 'ingress');
  assert.deepEqual(chain, [
    'ip saddr 10.0.1.0/24 tcp dport 80 drop comment "rule 100"',
    'return comment "rule 200"',
    'drop',
  ]);
  assert.equal(aclChain([{ ruleNumber: 1, protocol: '17', action: 'allow', cidr: '10.9.0.0/16' }], 'egress')[0], 'ip daddr 10.9.0.0/16 meta l4proto udp return comment "rule 1"');
});

test('security group chain: one marking rule per peer, group references by set', () => {
  const chain = sgChain([{ protocol: 'tcp', fromPort: 3306, toPort: 3306, cidrs: ['10.0.0.0/8', '10.1.0.0/16'], groups: ['sg-web'] }], 'ingress', (g) => `g_${g.replace('-', '_')}`);
  assert.deepEqual(chain, [
    'ip saddr 10.0.0.0/8 tcp dport 3306 meta mark set 0x1',
    'ip saddr 10.1.0.0/16 tcp dport 3306 meta mark set 0x1',
    'ip saddr @g_sg_web tcp dport 3306 meta mark set 0x1',
  ]);
});

test('router script: services, nat maps, NACL dispatch, per-instance group chains', () => {
  const text = renderRouter({
    table: 'kumo',
    serviceAddress: '198.18.0.1',
    dnsAddresses: ['10.0.0.2', '169.254.169.253'],
    subnets: [{ cidr: '10.0.1.0/24', naclId: 'acl-1' }, { cidr: '10.0.2.0/24', naclId: 'acl-missing' }],
    policy: {
      nacls: { 'acl-1': { ingress: [], egress: [] } },
      securityGroups: { 'sg-a': { ingress: [{ protocol: 'tcp', fromPort: 22, toPort: 22, cidrs: [], groups: ['sg-b'] }], egress: [] } },
    },
    ports: [
      { privateIp: '10.0.1.20', transitIp: '198.18.4.2', groups: ['sg-a'], hasPublicIp: false, hopLimit: 1 },
      { privateIp: '10.0.1.10', transitIp: '198.18.4.1', groups: ['sg-a', 'sg-b'], hasPublicIp: true, hopLimit: 2 },
    ],
  });
  assert.match(text, /^table ip kumo\ndelete table ip kumo\n/, 'replaced as one transaction');
  assert.match(text, /ip daddr 169\.254\.169\.254 tcp dport 80 dnat to 198\.18\.0\.1:80/);
  assert.match(text, /ip daddr 169\.254\.169\.250 tcp dport 80 dnat to 198\.18\.0\.1:3142/, 'kumo\'s outside address: package proxy and downloads');
  assert.match(text, /oifname "uplink" ip daddr 198\.18\.0\.1 tcp dport \{ 80, 443, 3142 \} accept/);
  assert.match(text, /oifname "uplink" ct direction original drop/, 'nothing else may start towards the host');
  assert.doesNotMatch(text, /masquerade|set internet/, 'no NAT without --internet');
  assert.match(text, /ip daddr \{ 10\.0\.0\.2, 169\.254\.169\.253 \} meta l4proto \{ tcp, udp \} th dport 53 dnat to 198\.18\.0\.1:53/);
  assert.match(text, /iifname "uplink" dnat to ip daddr map \{ 198\.18\.4\.1 : 10\.0\.1\.10 \}/, 'only instances with a public IP');
  assert.match(text, /snat to ip saddr map \{ 10\.0\.1\.10 : 198\.18\.4\.1, 10\.0\.1\.20 : 198\.18\.4\.2 \}/);
  assert.match(text, /tcp sport 80 ip daddr \{ 10\.0\.1\.20 \} ip ttl set 1\n.*tcp sport 80 ip daddr \{ 10\.0\.1\.10 \} ip ttl set 2/);
  assert.match(text, /set g_sg_b \{ type ipv4_addr; elements = \{ 10\.0\.1\.10 \}; \}/);
  assert.match(text, /jump nacl_out_acl_1/);
  assert.doesNotMatch(text, /acl_missing/, 'a subnet whose NACL is unknown is not filtered');
  assert.match(text, /chain inst_in_0 \{\n {4}meta mark set 0x0\n {4}jump sg_in_sg_a\n {4}jump sg_in_sg_b\n {4}meta mark != 0x1 drop/);
  assert.doesNotMatch(text, /default|0\.0\.0\.0\/0 accept/);
});

test('router script with --internet: instances marked for it go out after their NACLs and groups, masqueraded', () => {
  const text = renderRouter({
    table: 'kumo',
    serviceAddress: '198.18.0.1',
    dnsAddresses: ['10.0.0.2'],
    subnets: [{ cidr: '10.0.1.0/24', naclId: 'acl-1' }],
    policy: { nacls: { 'acl-1': { ingress: [], egress: [] } }, securityGroups: {} },
    internet: true,
    ports: [
      { privateIp: '10.0.1.10', transitIp: '198.18.4.1', groups: ['sg-a'], hasPublicIp: true, hopLimit: 2, internet: true },
      { privateIp: '10.0.1.20', transitIp: '198.18.4.2', groups: ['sg-a'], hasPublicIp: false, hopLimit: 2 },
    ],
  });
  assert.match(text, /set internet \{ type ipv4_addr; elements = \{ 10\.0\.1\.10 \}; \}/);
  assert.match(text, /oifname "uplink" ip saddr @internet ip daddr != 198\.18\.0\.1 masquerade\n.*snat to ip saddr map/, 'masquerade before the transit snat');
  assert.match(text, /oifname "uplink" ct direction original ip saddr != @internet drop/);
  assert.match(text, /oifname "uplink" ip daddr 198\.18\.0\.0\/15 ct direction original drop/, 'never to kumo\'s or other VPCs\' addresses');
  // The NACL dispatch comes first, then the source's egress groups, then out.
  assert.match(text, /jump nacl_out_acl_1[\s\S]*oifname "uplink" ip saddr vmap \{ 10\.0\.1\.10 : jump inst_out_0, 10\.0\.1\.20 : jump inst_out_1 \}\n {4}oifname "uplink" accept\n {4}ip daddr != @instances drop/);
});

test('host table: public IP map, masquerade and input guard on this slot\'s veths only', () => {
  const text = renderHostTable({ slot: 4, serviceAddress: '198.18.32.1', publics: new Map([['127.100.0.5', '198.18.36.1']]) });
  assert.match(text, /dnat to ip daddr map \{ 127\.100\.0\.5 : 198\.18\.36\.1 \}/);
  assert.match(text, /oifname "kh4-\*" ip saddr 127\.0\.0\.0\/8 masquerade/);
  assert.match(text, /iifname "kh4-\*" drop/);
  assert.match(text, /iifname "kh4-\*" ip daddr 198\.18\.32\.1 tcp dport \{ 80, 443, 3142 \} accept/);
  assert.doesNotMatch(text, /chain forward|198\.18\.32\.0\/21/, 'nothing forwarded without --internet');
  assert.doesNotMatch(renderHostTable({ slot: 4, serviceAddress: '198.18.32.1', publics: new Map() }), /dnat/);
});

test('host table with --internet: forwards the slot\'s flows out, never into 198.18/15, masquerades them', () => {
  const text = renderHostTable({ slot: 4, serviceAddress: '198.18.32.1', publics: new Map(), internet: true });
  assert.match(text, /ip saddr 198\.18\.32\.0\/21 oifname != "kh4-\*" masquerade/);
  assert.match(text, /chain forward \{\n {4}type filter hook forward priority filter; policy accept;\n {4}iifname "kh4-\*" ip daddr 198\.18\.0\.0\/15 drop\n {4}iifname "kh4-\*" accept\n {4}oifname "kh4-\*" ct state established,related accept\n {4}oifname "kh4-\*" drop/);
});
