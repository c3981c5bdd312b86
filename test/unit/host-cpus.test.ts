// eal.lcores on CPUs this machine lacks is refused in TypeScript naming the
// field, before rte_eal_init sees it (and prints its usage text instead).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { checkLcoreCpus, formatCpuList, hostCpus, type HostCpus } from '../../src/host-cpus';
import { isSluiceError } from '../../src/errors';

const host = (n: number): HostCpus => ({ exists: (id) => id < n, online: `0-${n - 1}` });

function refused(lcores: string, h: HostCpus, reason: RegExp): void {
  assert.throws(() => checkLcoreCpus(lcores, h), (err: unknown) => {
    assert.ok(isSluiceError(err, 'SLUICE_CONFIG_INVALID'), String(err));
    const details = err.details as { path: string; reason: string }[];
    assert.equal(details[0].path, 'eal.lcores');
    assert.match(details[0].reason, reason);
    return true;
  });
}

test('cpu lists format as ranges', () => {
  assert.equal(formatCpuList([5, 0, 1, 2]), '0-2,5');
  assert.equal(formatCpuList([3]), '3');
});

test('lcores on CPUs that exist are accepted, shared or not', () => {
  checkLcoreCpus('0@0,1@1', host(2));
  checkLcoreCpus('0@0,1@1,2@1', host(2));
  checkLcoreCpus('0-1', host(4));
  checkLcoreCpus('0@0,(1,2)@(0,1)', host(2));
});

test('an lcore on a CPU the machine lacks: refused naming eal.lcores and the CPU', () => {
  refused('0@0,1@7', host(2), /lcore 1 would run on CPU 7, which this machine does not have \(its CPUs: 0-1\)/);
  refused('0-3', host(2), /lcores 0-3 would run on CPU 2-3/);
  refused('0@0,(1,2)@(1-3)', host(2), /lcores 1-2 would run on CPU 2-3/);
});

test('on this machine, a CPU id far beyond any machine\'s is refused', () => {
  refused('0@0,1@1000', hostCpus(), /CPU 1000, which this machine does not have/);
});
