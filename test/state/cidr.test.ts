// IPv4 CIDR arithmetic (src/runtime/net/cidr.ts): parsing is strict, the rest is integer maths.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { contains, containsIp, intToIp, ipToInt, last, overlaps, parseCidr4, size, type Cidr4 } from '../../src/lib/cidr.js';

const c = (text: string): Cidr4 => {
  const parsed = parseCidr4(text);
  assert.ok(parsed, text);
  return parsed;
};

describe('parseCidr4', () => {
  test('accepts network addresses with prefixes 0 to 32', () => {
    assert.deepEqual(parseCidr4('10.0.0.0/16'), { base: 0x0a000000, prefix: 16, text: '10.0.0.0/16' });
    assert.deepEqual(parseCidr4('0.0.0.0/0'), { base: 0, prefix: 0, text: '0.0.0.0/0' });
    assert.deepEqual(parseCidr4('255.255.255.255/32'), { base: 0xffffffff, prefix: 32, text: '255.255.255.255/32' });
    assert.equal(parseCidr4('192.168.0.0/16')!.base, 3232235520, 'addresses above 2^31 stay unsigned');
    assert.equal(parseCidr4('10.0.0.128/25')!.prefix, 25);
  });

  test('refuses host bits, bad octets, bad prefixes and anything around the text', () => {
    for (const bad of [
      '10.0.1.0/16', '10.0.0.0/0', '192.168.1.0/16', '10.0.0.1/31', // host bits set
      '256.0.0.0/8', '10.0.0/24', '10.0.0.0.0/24', '010.0.0.0/16', '1.2.3.-4/32', // addresses
      '10.0.0.0/33', '10.0.0.0/', '10.0.0.0', '10.0.0.0/08', '10.0.0.0/-1', '10.0.0.0/1.5', // prefixes
      ' 10.0.0.0/16', '10.0.0.0/16 ', '10.0.0.0/16\n', '', 'banana', '::/0', 'fe80::/64', // framing
    ]) {
      assert.equal(parseCidr4(bad), undefined, JSON.stringify(bad));
    }
  });
});

describe('CIDR arithmetic', () => {
  test('ipToInt and intToIp round-trip, unsigned', () => {
    for (const ip of ['0.0.0.0', '10.0.0.1', '127.0.0.1', '128.0.0.0', '255.255.255.255']) assert.equal(intToIp(ipToInt(ip)), ip);
    assert.equal(ipToInt('255.255.255.255'), 4294967295);
    assert.equal(ipToInt('128.0.0.0'), 2 ** 31);
  });

  test('size and last address', () => {
    assert.equal(size(c('10.0.0.0/24')), 256);
    assert.equal(size(c('10.0.0.0/16')), 65536);
    assert.equal(size(c('0.0.0.0/0')), 2 ** 32);
    assert.equal(size(c('10.0.0.7/32')), 1);
    assert.equal(intToIp(last(c('10.0.2.0/24'))), '10.0.2.255');
    assert.equal(intToIp(last(c('0.0.0.0/0'))), '255.255.255.255');
  });

  test('contains: the scenario subnets lie in the VPC, a neighbour does not', () => {
    const vpc = c('10.0.0.0/16');
    for (const s of ['10.0.0.0/24', '10.0.1.0/24', '10.0.2.0/24', '10.0.3.0/24', '10.0.255.240/28', '10.0.0.0/16']) assert.ok(contains(vpc, c(s)), s);
    for (const s of ['10.1.0.0/24', '10.0.0.0/15', '9.255.255.0/24']) assert.ok(!contains(vpc, c(s)), s);
    assert.ok(contains(c('0.0.0.0/0'), c('255.255.255.255/32')));
  });

  test('overlaps is symmetric and exact at the edges', () => {
    const pairs: [string, string, boolean][] = [
      ['10.0.0.0/24', '10.0.1.0/24', false],
      ['10.0.0.0/24', '10.0.0.128/25', true],
      ['10.0.0.0/23', '10.0.1.0/24', true],
      ['10.0.0.0/24', '10.0.0.255/32', true],
      ['10.0.0.0/24', '10.0.1.0/32', false],
      ['0.0.0.0/0', '192.168.0.0/16', true],
      ['192.168.0.0/17', '192.168.128.0/17', false],
    ];
    for (const [a, b, want] of pairs) {
      assert.equal(overlaps(c(a), c(b)), want, `${a} ${b}`);
      assert.equal(overlaps(c(b), c(a)), want, `${b} ${a}`);
    }
  });

  test('containsIp', () => {
    const net = c('172.16.4.0/22');
    assert.ok(containsIp(net, ipToInt('172.16.4.0')));
    assert.ok(containsIp(net, ipToInt('172.16.7.255')));
    assert.ok(!containsIp(net, ipToInt('172.16.8.0')));
    assert.ok(!containsIp(net, ipToInt('172.16.3.255')));
  });
});
