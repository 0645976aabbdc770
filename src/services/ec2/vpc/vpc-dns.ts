/**
 * What a VPC's two DNS attributes decide, as AWS's "DNS attributes for your VPC" lays it out:
 *
 *   enableDnsSupport  enableDnsHostnames  public DNS hostnames   the VPC resolver (base+2)
 *   true              true                given (public IPs)    private names, and public names
 *                                                               of the VPC's instances → private IP
 *   true              false               none                  public names only (→ public IP)
 *   false             either              none                  does not answer
 *
 * The default VPC has both on; a VPC made by CreateVpc has enableDnsHostnames off. An instance's
 * private DNS name (PrivateDnsName, IMDS local-hostname) is given whatever the attributes say.
 */
import { publicDnsName } from '../dns-names.js';
import type { Scope } from '../../../state/scope.js';
import type { Ec2Store } from '../store.js';

export type ResolverMode = 'off' | 'public-only' | 'full';

/** Whether instances in the VPC get public DNS hostnames: both attributes on. */
export function givesPublicHostnames(store: Ec2Store, scope: Scope, vpcId: string): boolean {
  const vpc = store.network.vpcs.get(scope, vpcId);
  return !!vpc && vpc.EnableDnsSupport && vpc.EnableDnsHostnames;
}

/** The public DNS name of `ip` for an address in the VPC: '' where the VPC gives none (AWS's empty PublicDnsName). */
export function publicDnsNameIn(store: Ec2Store, scope: Scope, vpcId: string, ip: string | undefined): string {
  return ip && givesPublicHostnames(store, scope, vpcId) ? publicDnsName(ip, scope.region) : '';
}

/** How the VPC's resolver answers EC2 names. */
export function resolverMode(store: Ec2Store, scope: Scope, vpcId: string): ResolverMode {
  const vpc = store.network.vpcs.get(scope, vpcId);
  if (!vpc?.EnableDnsSupport) return 'off';
  return vpc.EnableDnsHostnames ? 'full' : 'public-only';
}
