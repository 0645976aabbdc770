/**
 * EC2's data plane on a native host: the VPC fabric (runtime/network) plus the two services every
 * VPC gets from AWS, answered by this process on the fabric's service address (outside every
 * instance's namespace, so every port inside an instance stays the user's):
 *
 *   instance → 169.254.169.254:80  ─┐ fabric DNATs to serviceAddress and SNATs the source to
 *   instance → VPC base+2:53       ─┘ the instance's transit address → instanceOf() → its row
 *
 * Opened on the first instance that needs a network; closed (nothing left on the host) at stop.
 */
import type { Server } from 'node:http';
import type { Fabric } from '../../runtime/network/fabric.js';
import { createImdsServer } from '../../runtime/metadata/imds.js';
import { createDnsServer } from '../../runtime/dns/server.js';
import type { InstanceDirectory } from './instance-metadata.js';
import type { NetworkPlane } from './instance-ports.js';

export async function openDataPlane(openFabric: () => Promise<Fabric>, directory: InstanceDirectory, log: (line: string) => void): Promise<NetworkPlane> {
  const fabric = await openFabric();
  const imds: Server = createImdsServer({
    lookup: (remote) => {
      const id = fabric.instanceOf(remote);
      return id ? directory.metadata(id) : undefined;
    },
  });
  const dns = createDnsServer({ resolve: (q) => directory.resolve(fabric.instanceOf(q.remoteAddress), q) });
  try {
    await new Promise<void>((resolve, reject) => {
      imds.once('error', reject);
      imds.listen(80, fabric.serviceAddress, () => resolve());
    });
    await dns.listen(fabric.serviceAddress, 53);
  } catch (err) {
    imds.close();
    await dns.close().catch(() => {});
    await fabric.close();
    throw err;
  }
  log(`VPC data plane up: metadata and DNS on ${fabric.serviceAddress} (fabric slot ${fabric.slot})`);
  return {
    ensureVpc: (vpc, policy) => fabric.ensureVpc(vpc, policy),
    setPolicy: (vpcId, policy) => fabric.setPolicy(vpcId, policy),
    plug: (port) => fabric.plug(port),
    update: (port) => fabric.update(port),
    unplug: (id) => fabric.unplug(id),
    removeVpc: (id) => fabric.removeVpc(id),
    prune: async () => {
      const gone = await fabric.prune();
      if (gone.length) log(`VPC data plane: removed ${gone.length} namespace(s) nothing claims`);
    },
    close: async () => {
      imds.closeAllConnections();
      await new Promise<void>((resolve) => imds.close(() => resolve()));
      await dns.close();
      await fabric.close();
    },
  };
}
