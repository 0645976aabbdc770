/**
 * The instance types kumo knows, as data: a selection of real families with the figures AWS
 * publishes for them (vCPUs, memory, instance storage, network performance and interface limits,
 * processor, hypervisor). Each family is one row of shared traits plus its sizes; `INSTANCE_TYPES`
 * expands them into DescribeInstanceTypes' InstanceTypeInfo shape. Types AWS has but this table
 * does not are unknown to kumo (InvalidInstanceType), which keeps the data honest rather than
 * guessed.
 */

export interface Disk {
  SizeInGB: number;
  Count: number;
  Type: 'ssd' | 'hdd';
}

interface Family {
  family: string;
  arch: string[];
  manufacturer: 'Intel' | 'AMD' | 'AWS';
  ghz: number;
  threadsPerCore: number;
  hypervisor: 'xen' | 'nitro';
  burstable?: boolean;
  usage?: string[];
  rootDevices?: string[];
  gpu?: { Name: string; Manufacturer: string; MiB: number };
  /** [size, vCPUs, memory MiB, network performance, max ENIs, IPv4 per ENI, local disks?, GPUs?] */
  sizes: [string, number, number, string, number, number, Disk?, number?][];
}

const GiB = 1024;
const ssd = (SizeInGB: number, Count = 1): Disk => ({ SizeInGB, Count, Type: 'ssd' });
const UP5 = 'Up to 5 Gigabit';
const UP10 = 'Up to 10 Gigabit';
const UP125 = 'Up to 12.5 Gigabit';
const LTM = 'Low to Moderate';

/** Sizes shared by the 6th-generation Intel families (m6i, c6i, r6i): vCPUs, network, ENIs, IPs. */
const gen6 = (memPerVcpu: number): Family['sizes'] => [
  ['large', 2, 2 * memPerVcpu * GiB, UP125, 3, 10],
  ['xlarge', 4, 4 * memPerVcpu * GiB, UP125, 4, 15],
  ['2xlarge', 8, 8 * memPerVcpu * GiB, UP125, 4, 15],
  ['4xlarge', 16, 16 * memPerVcpu * GiB, UP125, 8, 30],
  ['8xlarge', 32, 32 * memPerVcpu * GiB, '12.5 Gigabit', 8, 30],
  ['12xlarge', 48, 48 * memPerVcpu * GiB, '18.75 Gigabit', 8, 30],
  ['16xlarge', 64, 64 * memPerVcpu * GiB, '25 Gigabit', 15, 50],
  ['24xlarge', 96, 96 * memPerVcpu * GiB, '37.5 Gigabit', 15, 50],
  ['32xlarge', 128, 128 * memPerVcpu * GiB, '50 Gigabit', 15, 50],
];

/** Sizes shared by the 5th-generation Intel families m5 and r5. */
const gen5 = (memPerVcpu: number): Family['sizes'] => [
  ['large', 2, 2 * memPerVcpu * GiB, UP10, 3, 10],
  ['xlarge', 4, 4 * memPerVcpu * GiB, UP10, 4, 15],
  ['2xlarge', 8, 8 * memPerVcpu * GiB, UP10, 4, 15],
  ['4xlarge', 16, 16 * memPerVcpu * GiB, UP10, 8, 30],
  ['8xlarge', 32, 32 * memPerVcpu * GiB, '10 Gigabit', 8, 30],
  ['12xlarge', 48, 48 * memPerVcpu * GiB, '12 Gigabit', 8, 30],
  ['16xlarge', 64, 64 * memPerVcpu * GiB, '20 Gigabit', 15, 50],
  ['24xlarge', 96, 96 * memPerVcpu * GiB, '25 Gigabit', 15, 50],
];

/** Sizes shared by the Graviton3 families m7g and c7g. */
const graviton3 = (memPerVcpu: number): Family['sizes'] => [
  ['medium', 1, memPerVcpu * GiB, UP125, 2, 4],
  ['large', 2, 2 * memPerVcpu * GiB, UP125, 3, 10],
  ['xlarge', 4, 4 * memPerVcpu * GiB, UP125, 4, 15],
  ['2xlarge', 8, 8 * memPerVcpu * GiB, UP125, 4, 15],
  ['4xlarge', 16, 16 * memPerVcpu * GiB, UP125, 8, 30],
  ['8xlarge', 32, 32 * memPerVcpu * GiB, '15 Gigabit', 8, 30],
  ['12xlarge', 48, 48 * memPerVcpu * GiB, '22.5 Gigabit', 8, 30],
  ['16xlarge', 64, 64 * memPerVcpu * GiB, '30 Gigabit', 15, 50],
];

/** The burstable sizes: t3, t3a and t4g share vCPU counts and memory. */
const burstSizes = (net: string, enis: [number, number][]): Family['sizes'] =>
  (
    [
      ['nano', 2, 512],
      ['micro', 2, 1 * GiB],
      ['small', 2, 2 * GiB],
      ['medium', 2, 4 * GiB],
      ['large', 2, 8 * GiB],
      ['xlarge', 4, 16 * GiB],
      ['2xlarge', 8, 32 * GiB],
    ] as const
  ).map(([size, vcpu, mem], i) => [size, vcpu, mem, net, enis[i][0], enis[i][1]]);

const FAMILIES: Family[] = [
  {
    family: 't2', arch: ['i386', 'x86_64'], manufacturer: 'Intel', ghz: 2.5, threadsPerCore: 1, hypervisor: 'xen', burstable: true,
    sizes: [
      ['nano', 1, 512, LTM, 2, 2],
      ['micro', 1, 1 * GiB, LTM, 2, 2],
      ['small', 1, 2 * GiB, LTM, 3, 4],
      ['medium', 2, 4 * GiB, LTM, 3, 6],
      ['large', 2, 8 * GiB, LTM, 3, 12],
      ['xlarge', 4, 16 * GiB, 'Moderate', 3, 15],
      ['2xlarge', 8, 32 * GiB, 'Moderate', 3, 15],
    ],
  },
  {
    family: 't3', arch: ['x86_64'], manufacturer: 'Intel', ghz: 2.5, threadsPerCore: 2, hypervisor: 'nitro', burstable: true,
    sizes: burstSizes(UP5, [[2, 2], [2, 2], [3, 4], [3, 6], [3, 12], [4, 15], [4, 15]]),
  },
  {
    family: 't3a', arch: ['x86_64'], manufacturer: 'AMD', ghz: 2.2, threadsPerCore: 2, hypervisor: 'nitro', burstable: true,
    sizes: burstSizes(UP5, [[2, 2], [2, 2], [2, 4], [3, 6], [3, 12], [4, 15], [4, 15]]),
  },
  {
    family: 't4g', arch: ['arm64'], manufacturer: 'AWS', ghz: 2.5, threadsPerCore: 1, hypervisor: 'nitro', burstable: true,
    sizes: burstSizes(UP5, [[2, 2], [2, 2], [3, 4], [3, 6], [3, 12], [4, 15], [4, 15]]),
  },
  { family: 'm5', arch: ['x86_64'], manufacturer: 'Intel', ghz: 3.1, threadsPerCore: 2, hypervisor: 'nitro', sizes: gen5(4) },
  { family: 'm6i', arch: ['x86_64'], manufacturer: 'Intel', ghz: 3.5, threadsPerCore: 2, hypervisor: 'nitro', sizes: gen6(4) },
  { family: 'm7g', arch: ['arm64'], manufacturer: 'AWS', ghz: 2.6, threadsPerCore: 1, hypervisor: 'nitro', sizes: graviton3(4) },
  {
    family: 'c5', arch: ['x86_64'], manufacturer: 'Intel', ghz: 3.4, threadsPerCore: 2, hypervisor: 'nitro',
    sizes: [
      ['large', 2, 4 * GiB, UP10, 3, 10],
      ['xlarge', 4, 8 * GiB, UP10, 4, 15],
      ['2xlarge', 8, 16 * GiB, UP10, 4, 15],
      ['4xlarge', 16, 32 * GiB, UP10, 8, 30],
      ['9xlarge', 36, 72 * GiB, '12 Gigabit', 8, 30],
      ['12xlarge', 48, 96 * GiB, '12 Gigabit', 8, 30],
      ['18xlarge', 72, 144 * GiB, '25 Gigabit', 15, 50],
      ['24xlarge', 96, 192 * GiB, '25 Gigabit', 15, 50],
    ],
  },
  { family: 'c6i', arch: ['x86_64'], manufacturer: 'Intel', ghz: 3.5, threadsPerCore: 2, hypervisor: 'nitro', sizes: gen6(2) },
  { family: 'c7g', arch: ['arm64'], manufacturer: 'AWS', ghz: 2.6, threadsPerCore: 1, hypervisor: 'nitro', sizes: graviton3(2) },
  { family: 'r5', arch: ['x86_64'], manufacturer: 'Intel', ghz: 3.1, threadsPerCore: 2, hypervisor: 'nitro', sizes: gen5(8) },
  { family: 'r6i', arch: ['x86_64'], manufacturer: 'Intel', ghz: 3.5, threadsPerCore: 2, hypervisor: 'nitro', sizes: gen6(8) },
  {
    // Memory-optimized, up to 3,904 GiB, with a local SSD per instance.
    family: 'x1e', arch: ['x86_64'], manufacturer: 'Intel', ghz: 2.3, threadsPerCore: 2, hypervisor: 'xen',
    sizes: [
      ['xlarge', 4, 122 * GiB, UP10, 3, 10, ssd(120)],
      ['2xlarge', 8, 244 * GiB, UP10, 4, 15, ssd(240)],
      ['4xlarge', 16, 488 * GiB, UP10, 4, 15, ssd(480)],
      ['8xlarge', 32, 976 * GiB, UP10, 4, 15, ssd(960)],
      ['16xlarge', 64, 1952 * GiB, '10 Gigabit', 8, 30, ssd(1920)],
      ['32xlarge', 128, 3904 * GiB, '25 Gigabit', 8, 30, ssd(1920, 2)],
    ],
  },
  {
    family: 'u-6tb1', arch: ['x86_64'], manufacturer: 'Intel', ghz: 2.1, threadsPerCore: 2, hypervisor: 'nitro', usage: ['on-demand'],
    sizes: [['112xlarge', 448, 6144 * GiB, '100 Gigabit', 15, 50]],
  },
  {
    // Storage-optimized: NVMe SSDs attached to the host.
    family: 'i3', arch: ['x86_64'], manufacturer: 'Intel', ghz: 2.3, threadsPerCore: 2, hypervisor: 'xen', rootDevices: ['ebs', 'instance-store'],
    sizes: [
      ['large', 2, 15616, UP10, 3, 10, ssd(475)],
      ['xlarge', 4, 31232, UP10, 4, 15, ssd(950)],
      ['2xlarge', 8, 62464, UP10, 4, 15, ssd(1900)],
      ['4xlarge', 16, 124928, UP10, 8, 30, ssd(1900, 2)],
      ['8xlarge', 32, 249856, '10 Gigabit', 8, 30, ssd(1900, 4)],
      ['16xlarge', 64, 499712, '25 Gigabit', 15, 50, ssd(1900, 8)],
    ],
  },
  {
    family: 'p3', arch: ['x86_64'], manufacturer: 'Intel', ghz: 2.3, threadsPerCore: 2, hypervisor: 'xen',
    gpu: { Name: 'V100', Manufacturer: 'NVIDIA', MiB: 16 * GiB },
    sizes: [
      ['2xlarge', 8, 62464, UP10, 4, 15, undefined, 1],
      ['8xlarge', 32, 249856, '10 Gigabit', 8, 30, undefined, 4],
      ['16xlarge', 64, 499712, '25 Gigabit', 8, 30, undefined, 8],
    ],
  },
  {
    family: 'g4dn', arch: ['x86_64'], manufacturer: 'Intel', ghz: 2.5, threadsPerCore: 2, hypervisor: 'nitro',
    gpu: { Name: 'T4', Manufacturer: 'NVIDIA', MiB: 16 * GiB },
    sizes: [
      ['xlarge', 4, 16 * GiB, 'Up to 25 Gigabit', 3, 10, ssd(125), 1],
      ['2xlarge', 8, 32 * GiB, 'Up to 25 Gigabit', 3, 10, ssd(225), 1],
      ['4xlarge', 16, 64 * GiB, 'Up to 25 Gigabit', 3, 10, ssd(225), 1],
      ['8xlarge', 32, 128 * GiB, '50 Gigabit', 4, 15, ssd(900), 1],
      ['12xlarge', 48, 192 * GiB, '50 Gigabit', 8, 30, ssd(900), 4],
      ['16xlarge', 64, 256 * GiB, '50 Gigabit', 4, 15, ssd(900), 1],
    ],
  },
  {
    family: 'a1', arch: ['arm64'], manufacturer: 'AWS', ghz: 2.3, threadsPerCore: 1, hypervisor: 'nitro',
    sizes: [
      ['medium', 1, 2 * GiB, UP10, 2, 4],
      ['large', 2, 4 * GiB, UP10, 3, 10],
      ['xlarge', 4, 8 * GiB, UP10, 4, 15],
      ['2xlarge', 8, 16 * GiB, UP10, 4, 15],
      ['4xlarge', 16, 32 * GiB, UP10, 8, 30],
    ],
  },
];

/** Free-tier types (the 750 hours a month of the classic free tier). */
const FREE_TIER = new Set(['t2.micro', 't3.micro']);

/** t2's three smallest-but-one sizes run 32-bit AMIs; from large up they are 64-bit only. */
const I386_T2 = new Set(['t2.nano', 't2.micro', 't2.small', 't2.medium']);

function expand(f: Family) {
  return f.sizes.map(([size, vcpus, mib, net, enis, ips, disk, gpus]) => {
    const type = `${f.family}.${size}`;
    const nitro = f.hypervisor === 'nitro';
    const arch = f.family === 't2' && !I386_T2.has(type) ? ['x86_64'] : f.arch;
    return {
      InstanceType: type,
      CurrentGeneration: true,
      FreeTierEligible: FREE_TIER.has(type),
      SupportedUsageClasses: f.usage ?? ['on-demand', 'spot'],
      SupportedRootDeviceTypes: f.rootDevices ?? ['ebs'],
      SupportedVirtualizationTypes: ['hvm'],
      BareMetal: false,
      Hypervisor: f.hypervisor,
      ProcessorInfo: { SupportedArchitectures: arch, SustainedClockSpeedInGhz: f.ghz, Manufacturer: f.manufacturer },
      VCpuInfo: { DefaultVCpus: vcpus, DefaultCores: vcpus / f.threadsPerCore, DefaultThreadsPerCore: f.threadsPerCore },
      MemoryInfo: { SizeInMiB: mib },
      InstanceStorageSupported: disk !== undefined,
      InstanceStorageInfo: disk && {
        TotalSizeInGB: disk.SizeInGB * disk.Count,
        Disks: [disk],
        NvmeSupport: nitro || f.family === 'i3' ? 'required' : 'unsupported',
      },
      EbsInfo: {
        EbsOptimizedSupport: f.family === 't2' ? 'unsupported' : 'default',
        EncryptionSupport: 'supported',
        NvmeSupport: nitro ? 'required' : 'unsupported',
      },
      NetworkInfo: {
        NetworkPerformance: net,
        MaximumNetworkInterfaces: enis,
        MaximumNetworkCards: 1,
        DefaultNetworkCardIndex: 0,
        Ipv4AddressesPerInterface: ips,
        Ipv6AddressesPerInterface: ips,
        Ipv6Supported: true,
        EnaSupport: nitro ? 'required' : f.family === 't2' ? 'unsupported' : 'supported',
      },
      GpuInfo: f.gpu && gpus
        ? {
            Gpus: [{ Name: f.gpu.Name, Manufacturer: f.gpu.Manufacturer, Count: gpus, MemoryInfo: { SizeInMiB: f.gpu.MiB } }],
            TotalGpuMemoryInMiB: f.gpu.MiB * gpus,
          }
        : undefined,
      BurstablePerformanceSupported: f.burstable === true,
      SupportedBootModes: !nitro ? ['legacy-bios'] : arch.includes('arm64') ? ['uefi'] : ['legacy-bios', 'uefi'],
    };
  });
}

export type InstanceTypeInfo = ReturnType<typeof expand>[number];

export const INSTANCE_TYPES: readonly InstanceTypeInfo[] = FAMILIES.flatMap(expand);

export const INSTANCE_TYPE_BY_NAME: ReadonlyMap<string, InstanceTypeInfo> = new Map(INSTANCE_TYPES.map((t) => [t.InstanceType, t]));
