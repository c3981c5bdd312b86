// flattened() leaves a text made by concatenation in one run of characters,
// rather than the tree of its pieces V8 keeps until something needs it flat:
// counted in a heap snapshot of a child process that keeps 2,000 such texts,
// flattened or not.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { flattened } from '../../src/control/flat-text';

const TEXTS = 2000;

/** Concatenated strings in the heap of a process that keeps `texts` texts made of several pieces each. */
function consStringsKept(texts: number, flatten: boolean): number {
  const module = path.join(__dirname, '../../src/control/flat-text.js');
  const script = `
    const v8 = require('node:v8');
    const { flattened } = require(${JSON.stringify(module)});
    const kept = [];
    for (let i = 0; i < ${texts}; i++) {
      const text = \`{"address":\${JSON.stringify('10.0.' + (i >> 8) + '.' + (i & 255))},"port":\${80 + i},"health":\`;
      kept.push(${flatten} ? flattened(text) : text);
    }
    for (let i = 0; i < 3; i++) gc();
    const snapshot = JSON.parse(require('node:fs').readFileSync(v8.writeHeapSnapshot(process.argv[1])));
    const fields = snapshot.snapshot.meta.node_fields.length;
    const cons = snapshot.snapshot.meta.node_types[0].indexOf('concatenated string');
    let n = 0;
    for (let i = 0; i < snapshot.nodes.length; i += fields) if (snapshot.nodes[i] === cons) n++;
    process.stdout.write(String(n) + ' ' + kept.length);
  `;
  const file = path.join(require('node:os').tmpdir(), `sluice-flat-text-${process.pid}-${texts}-${flatten}.heapsnapshot`);
  try {
    const [count, kept] = execFileSync(process.execPath, ['--expose-gc', '-e', script, file], { encoding: 'utf8' }).split(' ').map(Number);
    assert.equal(kept, texts);
    return count;
  } finally {
    require('node:fs').rmSync(file, { force: true });
  }
}

test('flattened gives back the same text', () => {
  const parts = ['{"a":', JSON.stringify('é "x"'), ',"b":', String(2 ** 53), '}'];
  let text = '';
  for (const p of parts) text += p;
  assert.equal(flattened(text), parts.join(''));
  assert.equal(flattened(''), '');
});

test(`${TEXTS} kept texts, flattened: their pieces no longer stay as concatenated strings`, () => {
  // Node's own (module loading): the same in each process.
  const none = consStringsKept(0, false);
  const tree = consStringsKept(TEXTS, false);
  const flat = consStringsKept(TEXTS, true);
  // Each unflattened text is at least two concatenations (a node for each piece joined).
  assert.ok(tree - none >= 2 * TEXTS, `${tree - none} concatenated strings for ${TEXTS} texts kept as made`);
  // A few wrappers may wait for the collector to drop them; the pieces go.
  assert.ok(flat - none < (tree - none) / 10, `${flat - none} concatenated strings for ${TEXTS} texts flattened (${tree - none} as made, ${none} of node)`);
});
