// The lookup-table build through the addon (no EAL): the data path's
// rendezvous table by default, classic Maglev on request, both keyed on the
// backend set alone; the rendezvous table moves only a removed backend's slots.
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { addon } from '../../src/native/addon';

type Backend = { key: string; weight: number };
const backends = (n: number, weight = 100): Backend[] =>
  Array.from({ length: n }, (_, i) => ({ key: `10.0.${i >> 8}.${i & 255}:80`, weight }));
const asKeys = (list: Backend[], table: Uint32Array) => Array.from(table, (e) => list[e].key);
const NO_BACKEND = 0xffffffff;

describe('lookupTable', () => {
  const native = addon();

  test('the default is the rendezvous table, and it differs from classic Maglev', () => {
    const list = backends(10);
    const table = native.lookupTable(list, 65537);
    assert.deepEqual(table, native.lookupTable(list, 65537, 'rendezvous'));
    assert.notDeepEqual(table, native.lookupTable(list, 65537, 'maglev'));
  });

  test('an unknown algorithm is refused with a code', () => {
    assert.throws(() => native.lookupTable(backends(2), 251, 'ring' as never),
      (err: Error & { code?: string }) => err.code === 'SLUICE_INVALID_ARGUMENT' && /algorithm/.test(err.message));
  });

  for (const algorithm of ['rendezvous', 'maglev'] as const) {
    test(`${algorithm}: same backends in another order, same table`, () => {
      const list = backends(100).map((b, i) => ({ ...b, weight: 1 + (i % 5) }));
      const reversed = [...list].reverse();
      assert.deepEqual(asKeys(reversed, native.lookupTable(reversed, 65537, algorithm)),
        asKeys(list, native.lookupTable(list, 65537, algorithm)));
    });

    test(`${algorithm}: no backend with weight leaves every slot empty`, () => {
      for (const list of [[], backends(3, 0)]) {
        const table = native.lookupTable(list, 251, algorithm);
        assert.equal(table.length, 251);
        assert.ok(table.every((e) => e === NO_BACKEND));
      }
    });
  }

  test('rendezvous: removing one of 10 backends moves only its slots', () => {
    const list = backends(10);
    const before = asKeys(list, native.lookupTable(list, 65537));
    const gone = list[4].key;
    const rest = list.filter((b) => b.key !== gone);
    const after = asKeys(rest, native.lookupTable(rest, 65537));
    let moved = 0;
    for (let i = 0; i < before.length; i++) {
      if (before[i] === gone) moved++;
      else assert.equal(after[i], before[i], `slot ${i} moved between survivors`);
    }
    // Its share: 1/10 give or take the binomial spread.
    assert.ok(moved > 0.09 * 65537 && moved < 0.11 * 65537, `${moved} slots were the removed backend's`);
  });

  // 1000 backends in 65537 slots is the benchmark's row: the bound binds (a cap
  // of 72 slots for a share of 65.5), and the build's batched rounds and its
  // tail of computed owners both run.
  test('rendezvous: 1000 backends fill every slot, none above its cap, in any order', () => {
    const list = backends(1000);
    const table = native.lookupTable(list, 65537);
    const counts = new Array<number>(list.length).fill(0);
    for (const e of table) counts[e]++;
    assert.equal(counts.reduce((a, b) => a + b, 0), 65537);
    // The cap: max(ceil(share), floor(1.1 * share)) with share 65.537.
    assert.ok(Math.max(...counts) <= 72, `busiest holds ${Math.max(...counts)}`);
    assert.ok(Math.min(...counts) > 0);
    const reversed = [...list].reverse();
    assert.deepEqual(asKeys(reversed, native.lookupTable(reversed, 65537)), asKeys(list, table));
  });

  test('rendezvous: weights set the share, the busiest within 1.1x of its own', () => {
    const list = backends(20).map((b, i) => ({ ...b, weight: i < 10 ? 1 : 3 }));
    const counts = new Array<number>(list.length).fill(0);
    for (const e of native.lookupTable(list, 65537)) counts[e]++;
    const total = list.reduce((s, b) => s + b.weight, 0);
    for (const [i, b] of list.entries()) {
      const share = (65537 * b.weight) / total;
      assert.ok(counts[i] <= 1.1 * share + 1, `backend ${i}: ${counts[i]} slots for a share of ${share}`);
      assert.ok(counts[i] >= 0.85 * share, `backend ${i}: ${counts[i]} slots for a share of ${share}`);
    }
  });
});
