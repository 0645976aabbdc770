// Temporary: every well-formed AMI is Debian 12 until the AMI catalog lands.
import type { ImageLookup } from './instance-launch.js';

export const placeholderImages: ImageLookup = (_scope, imageId) => ({
  ImageId: imageId,
  Architecture: 'x86_64',
  KumoImage: 'debian-12',
  DefaultUser: 'admin',
  RootDeviceName: '/dev/xvda',
  RootSizeGiB: 8,
});
