// ASan and UBSan over the native code: the doctest unit tests built with both, and
// the node tests that drive the data plane hardest run against an ASan+UBSan build
// of the addon (build-asan/). Any sanitizer report aborts the process under test
// and fails here, with the report.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { test } from 'node:test';
import { assertClean, REPO_ROOT, run, sanitizerOptions } from '../helpers/checked-run';

const ASAN_ADDON = path.join(REPO_ROOT, 'build-asan', 'build', 'Release', 'sluice.node');

// Node files that load the addon and use no network namespace. Together they run
// the workers on ring and pcap ports, every N-API function, the error paths,
// configuration changes, the REST API on a real data plane and telemetry.
// Paths under dist/test/, without .test.js.
const NODE_SUBSET = [
  'dataplane/dataplane-ring', 'dataplane/dataplane-errors', 'dataplane/dataplane-pcap', 'dataplane/dataplane-nat',
  'dataplane/dataplane-nat6', 'api/api', 'dataplane/telemetry', 'unit/native-unit',
];
const FILE_TIMEOUT_SEC = 300;  // each takes at most ~30 s under ASan

test('native unit tests pass under ASan and UBSan', () => {
  assertClean(run('bash', ['scripts/build-native-tests.sh'], { ...process.env, SANITIZE: '1' }), 'building the ASan unit tests');
  const binary = path.join(REPO_ROOT, 'native', 'test', 'build', 'sluice-native-tests-asan');
  // A plain executable: leak detection is sound here and stays on.
  const tests = run(binary, ['--no-colors=true'], { ...process.env, ...sanitizerOptions(true) });
  assertClean(tests, binary);
  const summary = /\[doctest\] test cases:\s*(\d+)\s*\|\s*(\d+) passed\s*\|\s*(\d+) failed/.exec(tests.output);
  assert.ok(summary, 'no doctest summary line in the output');
  assert.equal(Number(summary[3]), 0);
  assert.ok(Number(summary[2]) > 0, 'doctest reported no passing test cases');
  console.log(summary[0]);
});

test('dataplane tests pass against the ASan+UBSan addon', () => {
  assertClean(run('bash', ['scripts/build-asan-addon.sh']), 'building the ASan addon');
  assert.ok(existsSync(ASAN_ADDON), `${ASAN_ADDON} was not built`);

  // The addon is built with gcc, whose ASan runtime must be the first library in
  // the process: Node itself is not instrumented, so it is preloaded.
  const libasan = execFileSync('gcc', ['-print-file-name=libasan.so'], { encoding: 'utf8' }).trim();
  assert.ok(path.isAbsolute(libasan) && existsSync(libasan), `gcc has no libasan.so (${libasan})`);
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    LD_PRELOAD: libasan,
    SLUICE_ADDON_PATH: ASAN_ADDON,
    // Leak detection off: at exit LSan reports what Node and V8 deliberately never
    // free, and it cannot follow V8's compressed pointers, so every run would
    // "leak". Memory errors and undefined behaviour still abort.
    ...sanitizerOptions(false),
  };
  // The nested runner must not think it is a child of this one.
  delete env.NODE_TEST_CONTEXT;

  // Proof that the files below really run the instrumented addon.
  const probe = run(process.execPath, ['-e', `
    require(${JSON.stringify(path.join(REPO_ROOT, 'dist', 'src', 'native', 'addon.js'))}).addon().dropReasons();
    const maps = require('node:fs').readFileSync('/proc/self/maps', 'utf8');
    console.log(maps.includes(${JSON.stringify(ASAN_ADDON)}) && maps.includes('libasan') ? 'asan addon loaded' : maps);
  `], env);
  assertClean(probe, 'loading the ASan addon');
  assert.match(probe.output, /^asan addon loaded$/m);

  // One file at a time, stopping at the first failure: once the addon has aborted,
  // tests that wait on a daemon child can hang, so each file also runs under
  // timeout(1), which kills its whole process group.
  let passed = 0;
  for (const name of NODE_SUBSET) {
    const file = path.join('dist', 'test', `${name}.test.js`);
    const args = ['-k', '10', String(FILE_TIMEOUT_SEC), process.execPath, '--test', '--test-timeout=240000', file];
    const result = run('timeout', args, env);
    assertClean(result, `${name} with the ASan addon${result.status === 124 ? ` (killed after ${FILE_TIMEOUT_SEC} s)` : ''}`);
    const pass = /^# pass (\d+)$/m.exec(result.output);
    const fail = /^# fail (\d+)$/m.exec(result.output);
    assert.ok(pass && fail, `${name}: no test runner summary in the output`);
    assert.equal(Number(fail[1]), 0, `${name}: ${fail[1]} failed`);
    assert.ok(Number(pass[1]) > 0, `${name}: no test passed`);
    passed += Number(pass[1]);
  }
  console.log(`${NODE_SUBSET.join(', ')}: ${passed} tests passed with the ASan+UBSan addon`);
});
