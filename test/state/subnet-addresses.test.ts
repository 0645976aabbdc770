// The per-subnet address book later features allocate from: lowest free address first, the
// five AWS-reserved addresses never handed out, a wanted address only if free, and what
// DescribeSubnets' AvailableIpAddressCount subtracts.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import type { NetworkStore } from '../../src/state/network.js';
import { TEST_SCOPE as scope, useNetworkStore } from '../helpers/network-store.js';

let net: NetworkStore;
useNetworkStore((n) => (net = n));

describe('subnet addresses', () => {
  test('a /28 hands out .4 to .14, then is full', () => {
    const got: (string | undefined)[] = [];
    for (let i = 0; i < 12; i++) got.push(net.addresses.allocate(scope, 'subnet-a', '10.0.0.0/28', `eni-${i}`));
    assert.deepEqual(got.slice(0, 11), ['10.0.0.4', '10.0.0.5', '10.0.0.6', '10.0.0.7', '10.0.0.8', '10.0.0.9', '10.0.0.10', '10.0.0.11', '10.0.0.12', '10.0.0.13', '10.0.0.14']);
    assert.equal(got[11], undefined, 'the broadcast address is reserved');
    assert.equal(net.addresses.inUse(scope, 'subnet-a'), 11);
  });

  test('wanted addresses, releases and reuse', () => {
    assert.equal(net.addresses.allocate(scope, 'subnet-b', '10.0.1.0/24', 'eni-x', '10.0.1.3'), undefined, 'reserved');
    assert.equal(net.addresses.allocate(scope, 'subnet-b', '10.0.1.0/24', 'eni-x', '10.0.1.10'), '10.0.1.10');
    assert.equal(net.addresses.allocate(scope, 'subnet-b', '10.0.1.0/24', 'eni-y', '10.0.1.10'), undefined, 'taken');
    assert.equal(net.addresses.allocate(scope, 'subnet-b', '10.0.1.0/24', 'eni-y'), '10.0.1.4');
    net.addresses.release(scope, 'subnet-b', '10.0.1.4');
    assert.equal(net.addresses.allocate(scope, 'subnet-b', '10.0.1.0/24', 'eni-z'), '10.0.1.4');
    net.addresses.releaseOwner(scope, 'eni-x');
    assert.deepEqual(net.addresses.inUseBySubnet(scope).get('subnet-b'), 1);
  });
});
