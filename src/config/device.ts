// What a port's `device` string names. The EAL needs vdevs and PCI devices passed
// differently, and a PCI ethdev is named by its full domain:bus:dev.fn form, so
// this is decided once, here.
import { normalizePciAddress } from '../net/addr';

export type Device =
  /** `name` is the ethdev name: the spec up to its first comma */
  | { kind: 'vdev'; spec: string; name: string }
  | { kind: 'pci'; address: string }
  /** an in-process rte_ring port for tests; the addon creates it, the EAL gets nothing */
  | { kind: 'ring' };

const VDEV_RE = /^net_[A-Za-z0-9_]+(,\S*)?$/;

export function parseDevice(device: string): Device | undefined {
  if (device === 'ring') return { kind: 'ring' };
  if (VDEV_RE.test(device)) return { kind: 'vdev', spec: device, name: device.split(',')[0] };
  const address = normalizePciAddress(device);
  return address === undefined ? undefined : { kind: 'pci', address };
}

/** Two ports on the same identity would fight over one device. */
export function deviceIdentity(d: Device): string | undefined {
  switch (d.kind) {
    case 'vdev':
      return d.name;
    case 'pci':
      return d.address;
    case 'ring':
      return undefined;
  }
}

/** The device string handed to the addon: PCI addresses in full form, the rest as written. */
export function nativeDevice(d: Device): string {
  switch (d.kind) {
    case 'vdev':
      return d.spec;
    case 'pci':
      return d.address;
    case 'ring':
      return 'ring';
  }
}
