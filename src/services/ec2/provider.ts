/**
 * EC2 (ec2 wire family): the operation table. Handlers live by resource in ./vpcs.ts,
 * ./subnets.ts, ./tags.ts and ./regions.ts; this file only assembles them.
 *
 * Differences from AWS (foundation slice):
 * - VPCs have one primary IPv4 CIDR; IPv6, IPAM pools and additional CIDRs are refused.
 * - No default VPC, main route table, default security group or network ACL yet.
 * - DhcpOptionsId is `default`; DNS attributes are stored but not yet served.
 * - Regions outside kumo's table have no availability zones.
 * - CreateTags/DeleteTags on an ID of a type kumo does not have yet (igw-, sg-, i-, …) is
 *   InvalidID, where AWS would say that type's NotFound.
 * - Key pairs: KeyFormat ppk gives a PuTTY format 2 file (not checked with puttygen here);
 *   PublicKey's comment is always the key name; no 5,000-per-region quota.
 * - Instance types: a table of selected real families (./instance-types-data.ts), each offered in
 *   every zone of the region; other types are InvalidInstanceType.
 * - Elastic IPs are loopback addresses from KUMO_EIP_POOL (default 127.100.0.0/16), never real
 *   public ones; domain vpc and pool `amazon` only; no per-region quota; no association yet.
 */
import { loadModel } from '../../models/loader.js';
import type { Ec2Operations } from '../../models/generated/ec2.js';
import { Ec2Codec } from '../../protocol/query.js';
import type { Db } from '../../state/db.js';
import type { NetworkStore } from '../../state/network.js';
import type { TagStore } from '../../state/tags.js';
import type { Handler, Service } from '../service.js';
import { addressHandlers } from './addresses.js';
import { ec2AuthErrors } from './errors.js';
import { instanceTypeHandlers } from './instance-types.js';
import { keyPairHandlers } from './key-pairs.js';
import { regionHandlers } from './regions.js';
import { Ec2Store } from './store.js';
import { subnetHandlers } from './subnets.js';
import { tagHandlers } from './tags.js';
import { vpcHandlers } from './vpcs.js';

export interface Ec2Deps {
  db: Db;
  network: NetworkStore;
  tags: TagStore;
  elasticIpPool?: string;
}

export function createEc2Service(deps: Ec2Deps): Service {
  const store = new Ec2Store(deps.db, deps.network, deps.tags);
  const handlers: { [K in keyof Ec2Operations]: Handler } = {
    ...vpcHandlers(store),
    ...subnetHandlers(store),
    ...tagHandlers(store),
    ...regionHandlers(),
    ...keyPairHandlers(store),
    ...instanceTypeHandlers(),
    ...addressHandlers(store, deps.elasticIpPool),
  };
  return {
    name: 'ec2',
    signingName: 'ec2',
    codec: new Ec2Codec(loadModel('ec2-2016-11-15')),
    handlers,
    authErrors: ec2AuthErrors,
  };
}
