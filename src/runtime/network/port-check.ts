/**
 * What the fabric refuses in a port before touching the host: names it would put into commands,
 * addresses outside their subnet, hop limits outside IMDS's range, and public IPs that would
 * hijack real traffic.
 */
import { containsIp, ipToInt, parseCidr4 } from '../../lib/cidr.js';
import type { PortSpec } from './types.js';

/**
 * Public IPs become dnat rules on the host's output path, so anything outside 127/8 would hijack
 * the host's own traffic to a real address; 127.0.0.0/24 holds the host's own loopback services.
 */
export function checkPort(port: PortSpec): void {
  if (!/^[A-Za-z0-9-]+$/.test(port.portId)) throw new Error(`fabric: bad port id ${JSON.stringify(port.portId)}`);
  if (!/^[a-z0-9-]+$/.test(port.owner)) throw new Error(`fabric: bad port owner ${JSON.stringify(port.owner)}`);
  const subnet = parseCidr4(port.subnetCidr);
  if (!subnet) throw new Error(`fabric: bad subnet CIDR ${port.subnetCidr}`);
  let priv: number;
  try {
    priv = ipToInt(port.privateIp);
  } catch {
    throw new Error(`fabric: bad private IP ${port.privateIp}`);
  }
  if (!containsIp(subnet, priv)) throw new Error(`fabric: ${port.privateIp} is not in ${port.subnetCidr}`);
  const hop = port.imdsHopLimit;
  if (hop !== undefined && (!Number.isInteger(hop) || hop < 1 || hop > 64)) throw new Error(`fabric: IMDS hop limit ${hop} is not in 1..64`);
  for (const pub of port.publicIps) {
    let n: number;
    try {
      n = ipToInt(pub);
    } catch {
      throw new Error(`fabric: bad public IP ${pub}`);
    }
    if (n >>> 24 !== 127 || n >>> 8 === 0x7f0000) throw new Error(`fabric: public IP ${pub} must be a loopback address outside 127.0.0.0/24`);
  }
}
