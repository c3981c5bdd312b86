// Hugepages for the benchmark runs. The flow table and the preloaded pcap are
// hundreds of MiB touched at random: on 4 KiB pages every lookup also misses the
// TLB, which costs a large share of the 1M-flow rate (docs/performance-notes.md,
// "The platform"). Operators run on hugepages, so
// the benchmark does too when the machine can reserve them, and gives the
// 2 MiB pages back afterwards. Sluice and testpmd always run in the same mode.
import fs from 'node:fs';

const NR = '/sys/kernel/mm/hugepages/hugepages-2048kB/nr_hugepages';
const FREE = '/sys/kernel/mm/hugepages/hugepages-2048kB/free_hugepages';
const PAGE_MB = 2;

export interface HugepageReservation {
  /** false: the runs use ordinary memory (--no-huge) */
  enabled: boolean;
  pages: number;
  reason: string;
  release(): void;
}

const read = (p: string) => Number(fs.readFileSync(p, 'utf8').trim());

/** Raises the 2 MiB page count until `mb` are free, or reports why not. */
export function reserveHugepages(mb: number): HugepageReservation {
  const wanted = Math.ceil(mb / PAGE_MB);
  let original: number;
  try {
    original = read(NR);
    const free = read(FREE);
    if (free < wanted) fs.writeFileSync(NR, String(original + wanted - free));
  } catch (err) {
    return { enabled: false, pages: 0, reason: `cannot reserve hugepages: ${(err as Error).message}`, release() {} };
  }
  const free = read(FREE);
  const release = () => {
    try {
      fs.writeFileSync(NR, String(original));
    } catch {
      // Nothing to undo if the count cannot be written back; it was raised by us.
    }
  };
  if (free < wanted) {
    release();
    return { enabled: false, pages: 0, reason: `only ${free} of ${wanted} 2 MiB pages could be reserved`, release() {} };
  }
  return { enabled: true, pages: wanted, reason: `${wanted} free 2 MiB pages reserved`, release };
}
