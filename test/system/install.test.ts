// scripts/install.sh against temporary roots: what install puts where, with
// which modes and bytes; a second install changes nothing; an existing config
// is kept; uninstall takes away exactly what install added (config and state
// kept unless --purge); a file install did not write is refused. The unit
// passes `systemd-analyze verify` where systemd-analyze can run.
import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync, type SpawnSyncReturns } from 'node:child_process';
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { DAEMON_NODE_FLAGS } from '../../src/node-flags';

const CHECKOUT = path.join(__dirname, '..', '..', '..');
const INSTALL = path.join(CHECKOUT, 'scripts', 'install.sh');
const UNIT_SOURCE = path.join(CHECKOUT, 'packaging', 'systemd', 'sluice.service');
const EXAMPLE = path.join(CHECKOUT, 'config', 'example.yaml');

const WRAPPER = 'usr/local/bin/sluice';
const UNIT = 'usr/local/lib/systemd/system/sluice.service';
const SYSCTL = 'etc/sysctl.d/60-sluice-hugepages.conf';
const CONFIG = 'etc/sluice/config.yaml';
const STATE = 'var/lib/sluice';
const MANIFEST = 'usr/local/lib/sluice/installed';

let dir: string;
before(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sluice-install-'));
});
after(() => fs.rmSync(dir, { recursive: true, force: true }));

function run(args: string[], env: NodeJS.ProcessEnv = {}): SpawnSyncReturns<string> {
  const { DESTDIR: _ignored, ...rest } = process.env;
  return spawnSync('bash', [INSTALL, ...args], { encoding: 'utf8', env: { ...rest, ...env } });
}
function ok(args: string[], env: NodeJS.ProcessEnv = {}): string {
  const r = run(args, env);
  assert.equal(r.status, 0, `install.sh ${args.join(' ')}: exit ${r.status}\n${r.stdout}${r.stderr}`);
  return r.stdout + r.stderr;
}

/** A root with what a Debian system already has where install writes, and some files of its own. */
function skeleton(name: string): string {
  const root = path.join(dir, name);
  for (const d of ['etc/sysctl.d', 'usr/local/bin', 'var/lib', 'etc/systemd/system']) fs.mkdirSync(path.join(root, d), { recursive: true });
  fs.writeFileSync(path.join(root, 'etc/hostname'), 'lb1\n');
  fs.writeFileSync(path.join(root, 'etc/sysctl.d/99-local.conf'), 'net.core.somaxconn = 4096\n');
  fs.writeFileSync(path.join(root, 'usr/local/bin/other'), '#!/bin/sh\n', { mode: 0o755 });
  return root;
}

/** Every entry under root: type, mode, and for files their bytes' hash and mtime; so any change shows. */
function listing(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string) => {
    for (const name of fs.readdirSync(path.join(root, rel)).sort()) {
      const r = rel === '' ? name : `${rel}/${name}`;
      const st = fs.lstatSync(path.join(root, r));
      const mode = (st.mode & 0o7777).toString(8);
      if (st.isDirectory()) {
        out.set(r, `dir ${mode}`);
        walk(r);
      } else if (st.isSymbolicLink()) {
        out.set(r, `link -> ${fs.readlinkSync(path.join(root, r))}`);
      } else {
        const hash = crypto.createHash('sha256').update(fs.readFileSync(path.join(root, r))).digest('hex');
        out.set(r, `file ${mode} ${hash} ${st.mtimeMs}`);
      }
    }
  };
  walk('');
  return out;
}
function mode(root: string, rel: string): string {
  return (fs.statSync(path.join(root, rel)).mode & 0o7777).toString(8);
}
/** The entries of `a` missing from `b` or different there, and those only in `b`. */
function diff(a: Map<string, string>, b: Map<string, string>): string[] {
  const d: string[] = [];
  for (const [k, v] of a) if (b.get(k) !== v) d.push(b.has(k) ? `~ ${k}` : `- ${k}`);
  for (const k of b.keys()) if (!a.has(k)) d.push(`+ ${k}`);
  return d.sort();
}

describe('scripts/install.sh', () => {
  test('install puts each file in place with its mode and bytes', () => {
    const root = skeleton('fresh');
    ok(['--root', root]);

    assert.equal(mode(root, WRAPPER), '755');
    const wrapper = fs.readFileSync(path.join(root, WRAPPER), 'utf8');
    assert.match(wrapper, /^#!\/bin\/sh\n/);
    // With the daemon's node flags, from the one list of them.
    assert.ok(wrapper.includes(`exec '${process.execPath}' ${DAEMON_NODE_FLAGS.join(' ')} '${CHECKOUT}/dist/src/cli.js' "$@"`), wrapper);
    // The wrapper is the CLI of this checkout.
    const help = spawnSync(path.join(root, WRAPPER), ['--help'], { encoding: 'utf8' });
    assert.match(help.stdout + help.stderr, /usage: sluice/);

    assert.equal(mode(root, UNIT), '644');
    assert.deepEqual(fs.readFileSync(path.join(root, UNIT)), fs.readFileSync(UNIT_SOURCE));
    const unit = fs.readFileSync(path.join(root, UNIT), 'utf8');
    assert.match(unit, /^ExecStart=\/usr\/local\/bin\/sluice run --config \/etc\/sluice\/config\.yaml$/m);
    assert.match(unit, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
    assert.match(unit, /^Restart=on-failure$/m);
    assert.match(unit, /^LimitMEMLOCK=infinity$/m);
    assert.match(unit, /^StateDirectory=sluice$/m);
    assert.match(unit, /^CapabilityBoundingSet=.*CAP_IPC_LOCK/m);
    assert.match(unit, /^WantedBy=multi-user\.target$/m);

    assert.equal(mode(root, SYSCTL), '644');
    assert.match(fs.readFileSync(path.join(root, SYSCTL), 'utf8'), /^vm\.nr_hugepages = 512$/m, '1024 MiB of 2 MiB pages by default');

    assert.equal(mode(root, CONFIG), '640');
    assert.deepEqual(fs.readFileSync(path.join(root, CONFIG)), fs.readFileSync(EXAMPLE));
    assert.ok(fs.statSync(path.join(root, STATE)).isDirectory());
    assert.equal(mode(root, STATE), '700');
    assert.equal(mode(root, MANIFEST), '644');
    // Nothing enabled or started: no wants links.
    assert.deepEqual(fs.readdirSync(path.join(root, 'etc/systemd/system')), []);
  });

  test('a second install changes nothing; another --hugepages-mb changes only the sysctl file', () => {
    const root = skeleton('twice');
    ok(['--root', root]);
    const first = listing(root);
    const out = ok(['--root', root]);
    assert.deepEqual(diff(first, listing(root)), [], out);
    assert.match(out, /unchanged .*usr\/local\/bin\/sluice/);

    ok(['--root', root, '--hugepages-mb', '2048']);
    assert.deepEqual(diff(first, listing(root)), [`~ ${SYSCTL}`]);
    assert.match(fs.readFileSync(path.join(root, SYSCTL), 'utf8'), /^vm\.nr_hugepages = 1024$/m);
  });

  test('an existing config is kept by install and by uninstall; --purge removes it', () => {
    const root = skeleton('config');
    fs.mkdirSync(path.join(root, 'etc/sluice'));
    fs.writeFileSync(path.join(root, CONFIG), '# the operator\'s own\n', { mode: 0o600 });
    const mine = listing(root).get(CONFIG);
    const out = ok(['--root', root]);
    assert.match(out, /kept .*etc\/sluice\/config\.yaml/);
    assert.equal(listing(root).get(CONFIG), mine);
    ok(['--root', root, '--uninstall']);
    assert.equal(listing(root).get(CONFIG), mine);
    ok(['--root', root, '--uninstall', '--purge']);
    assert.equal(fs.existsSync(path.join(root, 'etc/sluice')), false);
  });

  test('uninstall removes exactly what install added, keeping config and state; --purge those too', () => {
    const root = skeleton('uninstall');
    const before = listing(root);
    ok(['--root', root]);
    // State the daemon wrote meanwhile.
    fs.writeFileSync(path.join(root, STATE, 'state.json'), '{}\n');
    const out = ok(['--root', root, '--uninstall']);
    assert.match(out, /kept .*etc\/sluice\/config\.yaml \(--purge removes it\)/);
    const kept = ['+ etc/sluice', `+ ${CONFIG}`, `+ ${STATE}`, `+ ${STATE}/state.json`];
    assert.deepEqual(diff(before, listing(root)), kept);
    // Again: nothing left to remove, nothing else touched.
    ok(['--root', root, '--uninstall']);
    assert.deepEqual(diff(before, listing(root)), kept);
    ok(['--root', root, '--uninstall', '--purge']);
    assert.deepEqual(diff(before, listing(root)), []);
  });

  test('on an empty root (DESTDIR), uninstall --purge also removes every directory install created', () => {
    const root = path.join(dir, 'empty');
    fs.mkdirSync(root);
    ok([], { DESTDIR: root });
    assert.ok(fs.existsSync(path.join(root, WRAPPER)));
    ok(['--uninstall', '--purge'], { DESTDIR: root });
    assert.deepEqual([...listing(root).keys()], []);
  });

  test('uninstall removes an enable\'s link; files install did not write are left', () => {
    const root = skeleton('enabled');
    const before = listing(root);
    ok(['--root', root]);
    // What `systemctl enable sluice` makes.
    fs.mkdirSync(path.join(root, 'etc/systemd/system/multi-user.target.wants'));
    fs.symlinkSync(`/${UNIT}`, path.join(root, 'etc/systemd/system/multi-user.target.wants/sluice.service'));
    ok(['--root', root, '--uninstall', '--purge']);
    assert.deepEqual(diff(before, listing(root)), ['+ etc/systemd/system/multi-user.target.wants']);
  });

  test('a file install did not write is refused, and nothing is changed', () => {
    const root = skeleton('foreign');
    // What `npm link` leaves.
    fs.symlinkSync('../lib/node_modules/sluice/dist/src/cli.js', path.join(root, WRAPPER));
    const before = listing(root);
    const r = run(['--root', root]);
    assert.equal(r.status, 1);
    assert.match(r.stderr, /usr\/local\/bin\/sluice exists and was not installed by this script/);
    assert.deepEqual(diff(before, listing(root)), []);
    // Uninstall leaves it too.
    ok(['--root', root, '--uninstall']);
    assert.deepEqual(diff(before, listing(root)), []);
  });

  test('bad arguments exit 2', () => {
    assert.equal(run(['--frobnicate']).status, 2);
    assert.equal(run(['--purge', '--root', dir]).status, 2);
    assert.equal(run(['--hugepages-mb', 'lots', '--root', dir]).status, 2);
  });

  test('the installed unit passes systemd-analyze verify', (t) => {
    if (spawnSync('sh', ['-c', 'command -v systemd-analyze']).status !== 0) {
      t.skip('systemd-analyze is not installed: the unit was not verified');
      return;
    }
    // Can it verify anything here (a container may lack what it needs)?
    const probeDir = fs.mkdtempSync(path.join(dir, 'probe-'));
    const probe = path.join(probeDir, 'sluice-probe.service');
    fs.writeFileSync(probe, '[Service]\nExecStart=/bin/true\n');
    const p = spawnSync('systemd-analyze', ['verify', probe], { encoding: 'utf8' });
    if (p.status !== 0) {
      t.skip(`systemd-analyze verify cannot run here (a trivial unit fails: ${(p.stderr || p.stdout).trim()}): the unit was not verified`);
      return;
    }
    const root = skeleton('verify');
    ok(['--root', root]);
    // verify checks that ExecStart= is an executable file on this machine: in a
    // private mount namespace the root's /usr/local/bin stands in for the
    // machine's, so the command checked is the installed wrapper.
    const r = spawnSync('unshare', ['-m', 'sh', '-c', 'mount --bind "$1/usr/local/bin" /usr/local/bin && exec systemd-analyze verify "$1/$2"', 'sh', root, UNIT], {
      encoding: 'utf8',
    });
    if (r.error !== undefined || (r.status !== 0 && /^(unshare|mount): /m.test(r.stderr))) {
      t.skip(`no private mount namespace for the check (${r.error?.message ?? r.stderr.trim()}): the unit was not verified`);
      return;
    }
    assert.equal(r.status, 0, r.stdout + r.stderr);
    assert.equal((r.stdout + r.stderr).trim(), '', 'verify prints nothing for a good unit');
  });
});
