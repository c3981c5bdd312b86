// The CLI's command line without a daemon: --version and version, --help for
// every command and group (exit 0, stdout), usage errors (exit 2, the usage
// that applies on stderr), aliases, option values shaped by the config
// schema's choices, request bodies from options, an unreachable daemon (exit 3),
// and the bash completion script (the checked-in copy is what the CLI prints).
import { describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFile, spawnSync } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { backendFields, configOf, merged, serviceFields } from '../../src/cli/bodies';
import { bashCompletion } from '../../src/cli/completion';
import { parse } from '../../src/cli/parse';
import { COMMANDS, GROUPS, id } from '../../src/cli/spec';

// Compiled to dist/test/unit/: the CLI is dist/src/cli.js, the repository three levels up.
const CLI = path.join(__dirname, '..', '..', 'src', 'cli.js');
const ROOT = path.resolve(__dirname, '..', '..', '..');
const VERSION = (JSON.parse(fs.readFileSync(path.join(ROOT, 'package.json'), 'utf8')) as { version: string }).version;

const run = promisify(execFile);

/** The CLI as a process; never throws for a non-zero exit. */
async function cli(...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  try {
    const r = await run(process.execPath, [CLI, ...args], { encoding: 'utf8', env: { ...process.env, SLUICE_API: '' } });
    return { status: 0, stdout: r.stdout, stderr: r.stderr };
  } catch (err) {
    const e = err as { code: number; stdout: string; stderr: string };
    return { status: e.code, stdout: e.stdout, stderr: e.stderr };
  }
}

/** A port nothing listens on: one that was just free. */
async function closedPort(): Promise<number> {
  const s = net.createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as net.AddressInfo;
  await new Promise((r) => s.close(r));
  return port;
}

describe('version', () => {
  test('--version and -V print the package version and exit 0', async () => {
    for (const flag of ['--version', '-V']) {
      const r = await cli(flag);
      assert.equal(r.status, 0, r.stderr);
      assert.equal(r.stdout, `${VERSION}\n`);
    }
  });

  test('version without a daemon: the CLI\'s version, a line saying no daemon answers, exit 0', async () => {
    const port = await closedPort();
    const r = await cli('version', '--api', `http://127.0.0.1:${port}`);
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, new RegExp(`^sluice ${VERSION.replace(/\./g, '\\.')} \\(this CLI\\)$`, 'm'));
    assert.match(r.stdout, new RegExp(`^daemon: none with a version at http://127\\.0\\.0\\.1:${port}: .*ECONNREFUSED`, 'm'));
    const j = await cli('version', '--json', '--api', `http://127.0.0.1:${port}`);
    const doc = JSON.parse(j.stdout) as { cli: string; daemon: { version?: string; error?: string } };
    assert.equal(doc.cli, VERSION);
    assert.equal(doc.daemon.version, undefined);
    assert.match(doc.daemon.error ?? '', /ECONNREFUSED/);
  });
});

describe('help', () => {
  test('every command and group has --help: its own usage, exit 0 (in process)', () => {
    for (const c of COMMANDS) {
      for (const word of [c.path[c.path.length - 1], ...(c.aliases ?? [])]) {
        const argv = [...c.path.slice(0, -1), word, '--help'];
        const r = parse(argv);
        assert.equal(r.kind, 'help', argv.join(' '));
        assert.ok(r.kind === 'help' && r.text.startsWith(`usage: sluice ${id(c)}`), `${argv.join(' ')}: ${r.kind === 'help' ? r.text : ''}`);
        for (const o of c.options.filter((x) => !x.renamed)) assert.ok(r.kind === 'help' && r.text.includes(`--${o.name}`), `${id(c)} lists --${o.name}`);
      }
    }
    for (const g of GROUPS) {
      const r = parse([g.name, '--help']);
      assert.ok(r.kind === 'help' && r.text.startsWith(`usage: sluice ${g.name} <command>`), g.name);
      for (const c of COMMANDS.filter((x) => x.path[0] === g.name)) assert.ok(r.kind === 'help' && r.text.includes(c.summary));
    }
    assert.deepEqual(parse(['help', 'backends', 'add']), parse(['backends', 'add', '-h']));
  });

  test('as processes: stdout, exit 0', async () => {
    for (const argv of [['--help'], ['services', '--help'], ['backends', 'add', '--help'], ['stats', '-h'], ['help', 'services', 'rm']]) {
      const r = await cli(...argv);
      assert.equal(r.status, 0, `${argv.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /^usage: sluice /, argv.join(' '));
      assert.equal(r.stderr, '');
    }
    const r = await cli('backends', 'add', '--help');
    assert.match(r.stdout, /usage: sluice backends add SERVICE ADDRESS:PORT \[options\]/);
    assert.match(r.stdout, /--health-path PATH/);
  });
});

describe('usage errors: exit 2, the usage that applies on stderr', () => {
  test('bare sluice is a usage error, not help', async () => {
    const r = await cli();
    assert.equal(r.status, 2);
    assert.equal(r.stdout, '');
    assert.match(r.stderr, /^sluice: no command given\n\nusage: sluice <command>/);
  });

  test('each kind, with the command\'s or group\'s usage', async () => {
    const cases: [string[], RegExp, RegExp][] = [
      [['frobnicate'], /unknown command "frobnicate"/, /usage: sluice <command>/],
      [['services', 'frob'], /unknown command "services frob"/, /usage: sluice services <command>/],
      [['backends'], /sluice backends needs a command/, /usage: sluice backends <command>/],
      [['services', 'show'], /missing NAME/, /usage: sluice services show NAME/],
      [['backends', 'drain', 'web'], /missing ADDRESS:PORT/, /usage: sluice backends drain SERVICE ADDRESS:PORT/],
      [['services', 'rm', 'a', 'b'], /unexpected argument "b"/, /usage: sluice services rm NAME/],
      [['services', 'add', 'x'], /sluice services add needs --vip and --port/, /usage: sluice services add NAME --vip IP --port N/],
      [['services', 'add', 'x', '--vip', '10.0.0.1', '--port', 'eighty'], /--port takes a whole number, not "eighty"/, /usage: sluice services add/],
      [['services', 'add', 'x', '--vip', '10.0.0.1', '--port', '80', '--forwarding', 'gre'], /--forwarding takes "dsr", "tunnel" or "nat", not "gre"/, /usage: sluice services add/],
      [['services', 'add', 'x', '--vip', '10.0.0.1', '--port', '80', '--health', 'icmp'], /--health takes "tcp", "http" or "none"/, /usage: sluice services add/],
      [['services', 'add', 'x', '--vip', '10.0.0.1', '--port', '80', '--maglev-size', '251'], /--maglev-size was renamed --lookup-table-size/, /usage: sluice services add/],
      [['backends', 'set', 'web', '10.0.0.1:80'], /backends set needs --weight N/, /usage: sluice backends set/],
      [['backends', 'set', 'web', '10.0.0.1:80', '--drain', '--enable'], /at most one of --drain, --disable, --enable/, /usage: sluice backends set/],
      [['backends', 'add', 'web', 'nowhere'], /not address:port/, /usage: sluice backends add/],
      [['backends', 'ls', 'web', '--weight', '5'], /unknown option --weight for sluice backends ls/, /usage: sluice backends ls SERVICE/],
      [['stats', '--interval', '0'], /--interval takes seconds between 0\.1 and 3600/, /usage: sluice stats/],
      [['stats', '--interval'], /--interval needs a value/, /usage: sluice stats/],
      [['completion', 'zsh'], /SHELL is "bash", not "zsh"/, /usage: sluice completion SHELL/],
      [['services', 'ls', '--version'], /unknown option --version/, /usage: sluice services ls/],
      [['help', 'nosuch'], /no command "nosuch"/, /usage: sluice <command>/],
    ];
    const port = await closedPort();
    await Promise.all(cases.map(async ([argv, message, usage]) => {
      // --api to nothing: a usage error must come before any request.
      const local = ['completion', 'help'].includes(argv[0]);
      const r = await cli(...argv, ...(local ? [] : ['--api', `http://127.0.0.1:${port}`]));
      assert.equal(r.status, 2, `${argv.join(' ')}: ${r.stderr}`);
      assert.equal(r.stdout, '', argv.join(' '));
      assert.match(r.stderr, message, argv.join(' '));
      assert.match(r.stderr, usage, argv.join(' '));
    }));
  });
});

describe('commands and aliases', () => {
  const idOf = (argv: string[]) => {
    const r = parse(argv);
    return r.kind === 'command' ? id(r.command) : r.kind;
  };

  test('ls/list, rm/remove/delete, show/get, and a bare group\'s default', () => {
    assert.equal(idOf(['services']), 'services ls');
    assert.equal(idOf(['services', 'list']), 'services ls');
    assert.equal(idOf(['backends', 'list', 'web']), 'backends ls');
    for (const w of ['rm', 'remove', 'delete']) {
      assert.equal(idOf(['services', w, 'web']), 'services rm');
      assert.equal(idOf(['backends', w, 'web', '10.0.0.1:80']), 'backends rm');
    }
    assert.equal(idOf(['services', 'get', 'web']), 'services show');
    assert.equal(idOf(['backends', 'get', 'web', '10.0.0.1:80']), 'backends show');
    for (const w of ['drain', 'enable', 'disable']) assert.equal(idOf(['backends', w, 'web', '10.0.0.1:80']), `backends ${w}`);
    for (const w of ['lcores', 'ports', 'neighbors', 'health', 'metrics', 'version']) assert.equal(idOf([w]), w);
    assert.equal(idOf(['node']), 'node show');
    assert.equal(idOf(['node', 'get']), 'node show');
    for (const w of ['drain', 'undrain']) assert.equal(idOf(['node', w]), `node ${w}`);
    assert.equal(idOf(['stats', 'web', '--watch']), 'stats');
  });

  test('options anywhere on the line, --opt=value too', () => {
    const r = parse(['--json', 'backends', '--api=http://x:1', 'add', 'web', '10.0.0.1:80', '--weight=5']);
    assert.equal(r.kind, 'command');
    assert.ok(r.kind === 'command');
    assert.deepEqual(r.args, ['web', '10.0.0.1:80']);
    assert.equal(r.values.weight, '5');
    assert.equal(r.values.api, 'http://x:1');
    assert.equal(r.values.json, true);
  });
});

describe('request bodies from options', () => {
  const values = (argv: string[]) => {
    const r = parse(argv);
    assert.ok(r.kind === 'command');
    return r.values;
  };

  test('a service: tunnel and health check fields nested as the config has them; numbers as numbers', () => {
    const v = values(['services', 'add', 't', '--vip', '10.0.0.1', '--port', '80', '--protocol', 'udp', '--forwarding', 'tunnel',
      '--encapsulation', 'gue', '--gue-port', '7000', '--tunnel-source', '10.0.0.2', '--source-network', '172.16.0.0/16',
      '--lookup-table-size', '251', '--health', 'http', '--health-path', '/ok', '--health-interval-ms', '500',
      '--health-timeout-ms', '200', '--health-rise', '3', '--health-fall', '4', '--health-expect-status', '200-299',
      '--health-port', '8080', '--health-initial-state', 'up']);
    assert.deepEqual(serviceFields(v), {
      vip: '10.0.0.1', port: 80, protocol: 'udp', forwarding: 'tunnel', lookupTableSize: 251,
      tunnel: { encapsulation: 'gue', guePort: 7000, source: '10.0.0.2', sourceNetwork: '172.16.0.0/16' },
      healthCheck: { type: 'http', path: '/ok', expectStatus: '200-299', port: 8080, intervalMs: 500, timeoutMs: 200, rise: 3, fall: 4, initialState: 'up' },
    });
    assert.deepEqual(serviceFields(values(['services', 'set', 't', '--health-rise', '5'])), { healthCheck: { rise: 5 } });
  });

  test('a backend: weight, mac, state and a health check override', () => {
    const v = values(['backends', 'add', 'web', '10.0.0.1:80', '--weight', '0', '--mac', '02:00:00:00:00:01', '--health-path', '/b']);
    assert.deepEqual(backendFields(v, 'drain'), { weight: 0, mac: '02:00:00:00:00:01', state: 'drain', healthCheck: { path: '/b' } });
  });

  test('a GET\'s service cut to what PUT takes, then changed field by field', () => {
    const view = {
      name: 'web', vip: '10.0.0.1', port: 80, protocol: 'tcp', forwarding: 'dsr', lookupTableSize: 65537,
      healthCheck: { type: 'tcp', intervalMs: 2000, rise: 2 }, stats: { packets: 1 },
      backends: [{ address: '10.0.0.2', port: 80, weight: 100, state: 'active', key: '10.0.0.2:80', health: { status: 'up' }, stats: {}, emptySince: 'x' }],
    };
    const cfg = configOf(view);
    assert.deepEqual(cfg, {
      name: 'web', vip: '10.0.0.1', port: 80, protocol: 'tcp', forwarding: 'dsr', lookupTableSize: 65537,
      healthCheck: { type: 'tcp', intervalMs: 2000, rise: 2 },
      backends: [{ address: '10.0.0.2', port: 80, weight: 100, state: 'active' }],
    });
    assert.deepEqual(merged(cfg, { healthCheck: { rise: 5 } }).healthCheck, { type: 'tcp', intervalMs: 2000, rise: 5 });
  });
});

describe('an unreachable daemon', () => {
  test('stats (no --watch) and a command: a clear message and exit 3', async () => {
    const port = await closedPort();
    for (const argv of [['stats'], ['services', 'ls'], ['lcores']]) {
      const r = await cli(...argv, '--api', `http://127.0.0.1:${port}`);
      assert.equal(r.status, 3, `${argv.join(' ')}: ${r.stderr}`);
      assert.equal(r.stderr, `sluice: cannot reach the Sluice API at http://127.0.0.1:${port} (ECONNREFUSED); is the daemon running? ` +
        'Set --api or SLUICE_API to its address\n');
    }
  });
});

describe('bash completion', () => {
  // The script as an operator installs it, sourced by the tests below.
  const SCRIPT = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-completion-')), 'sluice.bash');
  fs.writeFileSync(SCRIPT, `${bashCompletion().trimEnd()}\n`);

  test('`sluice completion bash` prints the script', async () => {
    const r = await cli('completion', 'bash');
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, fs.readFileSync(SCRIPT, 'utf8'));
  });

  /** What the script offers for a command line whose last word is being typed. */
  function complete(words: string[]): string[] {
    const quoted = words.map((w) => `'${w}'`).join(' ');
    const r = spawnSync('bash', ['-c', `source '${SCRIPT}'
sluice() { '${process.execPath}' '${CLI}' "$@"; }
COMP_WORDS=(${quoted}); COMP_CWORD=$(( \${#COMP_WORDS[@]} - 1 )); _sluice; printf '%s\\n' "\${COMPREPLY[@]}"`], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    return r.stdout.split('\n').filter((x) => x !== '');
  }

  test('commands, subcommands with aliases, options, and the values of options with choices', () => {
    assert.deepEqual(complete(['sluice', 'ba']), ['backends']);
    assert.ok(complete(['sluice', '']).includes('neighbors'));
    assert.deepEqual(complete(['sluice', 'backends', 'd']), ['delete', 'drain', 'disable']);
    assert.deepEqual(complete(['sluice', 'services', 'add', 'x', '--forw']), ['--forwarding']);
    assert.deepEqual(complete(['sluice', 'services', 'add', 'x', '--forwarding', '']), ['dsr', 'tunnel', 'nat']);
    assert.deepEqual(complete(['sluice', 'services', 'set', 'x', '--health-initial-state', '']), ['down', 'up']);
    assert.deepEqual(complete(['sluice', 'backends', 'set', 'web', '10.0.0.1:80', '--dr']), ['--drain']);
    assert.deepEqual(complete(['sluice', 'completion', '']), ['bash']);
    assert.deepEqual(complete(['sluice', 'stats', '--w']), ['--watch']);
  });
});
