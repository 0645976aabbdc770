/**
 * What EC2 brings to the shared VPC data plane (runtime/data-plane.ts), as any service would:
 *
 *   its DNS zone     instance names (ip-…compute.internal, i-….compute.internal,
 *                    ec2-…compute.amazonaws.com), answered from its rows (./metadata.ts)
 *   its endpoint     the instance metadata service on the service address, port 80, which the
 *                    fabric DNATs 169.254.169.254 to; the asker is the port the connection comes
 *                    from, and only EC2's ports (instances) get an answer
 *   its VPCs' word   whether a VPC's resolver answers at all (enableDnsSupport)
 *   host actions     what an instance's root asks kumo to do for it there (host-actions.ts)
 */
import type { Server } from 'node:http';
import type { DataPlane } from '../../../runtime/data-plane.js';
import { createImdsServer } from '../../../runtime/metadata/imds.js';
import type { Ec2Store } from '../store.js';
import { resolverMode } from '../vpc/vpc-dns.js';
import type { InstanceDirectory } from './metadata.js';
import type { InstanceDriver } from '../../../runtime/instances/driver.js';
import { hostActions, type AttachedDevices } from './host-actions.js';

export const EC2_PORT_OWNER = 'ec2';

export function plugIntoDataPlane(plane: DataPlane, directory: InstanceDirectory, store: Ec2Store, actions: { driver: InstanceDriver; devices: () => AttachedDevices | undefined }): void {
  plane.gateVpcResolver((vpcId) => {
    const scope = store.network.vpcs.scopeOf(vpcId);
    return scope !== undefined && resolverMode(store, scope, vpcId) !== 'off';
  });
  plane.zones.register({
    name: 'ec2',
    suffixes: ['ec2.internal', 'compute.internal', 'compute-1.amazonaws.com', 'compute.amazonaws.com'],
    resolve: (q, asker) => directory.resolve(asker, q),
  });
  plane.serve(async ({ address, portAt }) => {
    const imds: Server = createImdsServer(
      {
        lookup: (remote) => {
          const port = portAt(remote);
          return port?.owner === EC2_PORT_OWNER ? directory.metadata(port.portId) : undefined;
        },
      },
      { prefix: '/kumo/', handle: hostActions({ directory, ...actions, portAt, owner: EC2_PORT_OWNER }) },
    );
    await new Promise<void>((resolve, reject) => {
      imds.once('error', reject);
      imds.listen(80, address, () => resolve());
    });
    return async () => {
      imds.closeAllConnections();
      await new Promise<void>((resolve) => imds.close(() => resolve()));
    };
  });
}
