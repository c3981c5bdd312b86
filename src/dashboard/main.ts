// The page: opens the snapshot stream, asks for the token when the API answers
// 401, and draws each snapshot: the node, charts, services, the chosen
// service's backends with their actions, ports, lcores, drops, admission, BGP.
import { ApiError, patchBackend, token } from './api';
import { Charts } from './charts';
import { askToken, confirmAction } from './dialogs';
import { count, duration, percent, rate } from './format';
import { History } from './history';
import type { BackendSnapshot, ServiceSnapshot, Snapshot } from './snapshot';
import { SnapshotStream } from './stream';
import { button, PagedTable } from './table';

const el = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;

const history = new History();
const charts = new Charts(document);
let chosen: string | undefined;
let last: Snapshot | undefined;

function alert(text: string | undefined): void {
  const a = el('alert');
  a.hidden = text === undefined;
  a.textContent = text ?? '';
}

function conn(text: string, down = false): void {
  const c = el('conn');
  c.textContent = text;
  c.classList.toggle('down', down);
}

const services = new PagedTable<ServiceSnapshot>(
  el('services'), el('services-filter'), el('services-pager'), el('services-count'), 'services',
  (s) => s.name,
  (s, f) => s.name.toLowerCase().includes(f) || s.vip.includes(f),
  [
    {
      make: (s, td) => {
        const b = button(s.name, `Show the backends of ${s.name}`, () => choose(s.name));
        b.classList.add('link');
        td.append(b);
      },
      update: (s, td) => (td.firstChild as HTMLButtonElement).setAttribute('aria-pressed', String(s.name === chosen)),
    },
    { text: (s) => `${s.vip.includes(':') ? `[${s.vip}]` : s.vip}:${s.port}/${s.protocol}` },
    { text: (s) => s.forwarding },
    { className: 'num', text: (s) => rate(s.pps) },
    { className: 'num', text: (s) => rate(s.bps) },
    { className: 'num', text: (s) => rate(s.newFlowsPerSec) },
    { className: 'num', text: (s) => count(s.activeFlows) },
    { className: 'num', text: (s) => `${s.backendsUp}/${s.backends.length}` },
  ],
  (s) => (s.name === chosen ? 'selected' : ''),
);

const backends = new PagedTable<BackendSnapshot>(
  el('backends'), el('backends-filter'), el('backends-pager'), el('backends-count'), 'backends',
  (b) => b.key,
  (b, f) => b.key.toLowerCase().includes(f) || b.state.includes(f) || b.health.includes(f),
  [
    { text: (b) => b.key },
    { text: (b) => b.state, update: (b, td) => { td.className = `st-${b.state}`; } },
    {
      text: (b) => (b.lastError ? `${b.health}: ${b.lastError}` : b.health),
      update: (b, td) => {
        td.className = `st-${b.health}`;
        td.title = b.lastProbeAt ? `last probe ${b.lastProbeAt}` : 'no probe has finished';
      },
    },
    { className: 'num', text: (b) => String(b.weight) },
    {
      className: 'num',
      text: (b) => (b.state === 'drain'
        ? (b.emptySince ? `0 (empty since ${b.emptySince.slice(11, 19)})` : `${count(b.activeFlows)} left`)
        : count(b.activeFlows)),
    },
    { className: 'num', text: (b) => rate(b.newFlowsPerSec) },
    { className: 'num', text: (b) => rate(b.pps) },
    {
      make: (b, td) => {
        const box = document.createElement('div');
        box.className = 'actions';
        box.append(
          button('Drain', `Drain ${b.key}`, () => act(b.key, 'drain')),
          button('Undrain', `Undrain ${b.key} (make it active)`, () => act(b.key, 'active')),
          button('Disable', `Disable ${b.key}`, () => act(b.key, 'disabled')),
          button('Weight…', `Change the weight of ${b.key}`, () => changeWeight(b.key)),
        );
        td.append(box);
      },
      update: (b, td) => {
        const [drain, undrain, disable] = td.querySelectorAll('button');
        drain.disabled = b.state === 'drain';
        undrain.disabled = b.state === 'active';
        disable.disabled = b.state === 'disabled';
      },
    },
  ],
);

const WHAT: Record<string, string> = {
  drain: 'It keeps its flows and takes no new ones.',
  active: 'It takes new flows again.',
  disabled: 'Its flows move to the other backends now.',
};

function act(key: string, state: 'drain' | 'active' | 'disabled'): void {
  const service = chosen;
  if (service === undefined) return;
  const verb = state === 'drain' ? 'Drain' : state === 'active' ? 'Undrain' : 'Disable';
  confirmAction({
    text: `${verb} backend ${key} of ${service}? ${WHAT[state]}`,
    run: () => patchBackend(service, key, { state }),
  });
}

function changeWeight(key: string): void {
  const service = chosen;
  const b = last?.services.find((s) => s.name === service)?.backends.find((x) => x.key === key);
  if (service === undefined || b === undefined) return;
  confirmAction({
    text: `Change the weight of backend ${key} of ${service}?`,
    weight: b.weight,
    run: (weight) => patchBackend(service, key, { weight }),
  });
}

function choose(name: string): void {
  chosen = name;
  charts.select(name);
  if (last) draw(last);
}

function facts(id: string, items: [string, string][]): void {
  el(id).replaceChildren(...items.map(([k, v]) => {
    const d = document.createElement('div');
    const dt = document.createElement('dt');
    const dd = document.createElement('dd');
    dt.textContent = k;
    dd.textContent = v;
    d.append(dt, dd);
    return d;
  }));
}

function rows(id: string, data: string[][]): void {
  const body = (el(id) as HTMLTableElement).tBodies[0];
  body.replaceChildren(...data.map((cells) => {
    const tr = document.createElement('tr');
    cells.forEach((c, i) => {
      const td = document.createElement('td');
      if (i > 0 && /^[\d—.,%kMG/ -]+$/.test(c)) td.className = 'num';
      td.textContent = c;
      tr.append(td);
    });
    return tr;
  }));
}

function draw(s: Snapshot): void {
  el('node-name').textContent = s.node.name;
  facts('node', [
    ['version', s.node.version],
    ['up', duration(s.node.uptimeSec)],
    ['state', s.node.state],
    ['data plane', s.node.running ? 'running' : 'not running'],
    ['rx', `${rate(s.totals.rxPps)} pps`],
    ['new flows', `${rate(s.totals.newFlowsPerSec)}/s`],
    ['drops', `${rate(s.totals.dropsPerSec)}/s`],
  ]);

  if (chosen === undefined || !s.services.some((x) => x.name === chosen)) {
    chosen = s.services[0]?.name;
    charts.select(chosen);
  }
  services.set(s.services);
  const svc = s.services.find((x) => x.name === chosen);
  el('backends-of').textContent = svc === undefined ? 'no service' : svc.name;
  backends.set(svc?.backends ?? []);

  rows('ports', s.ports.map((p) => [p.name, p.linkUp ? `up${p.speedMbps ? ` ${p.speedMbps} Mb/s` : ''}` : 'down',
    rate(p.rxPps), rate(p.txPps), rate(p.missedPps), count(p.rxMissed)]));
  rows('lcores', s.lcores.map((l) => [String(l.lcore), percent(l.busy), rate(l.rxPps), count(l.flows),
    l.natCapacity > 0 ? `${count(l.natSessions)} of ${count(l.natCapacity)}` : '—']));
  const drops = Object.entries(s.drops).sort((a, b) => b[1] - a[1]);
  rows('drops', drops.length ? drops.map(([r, n]) => [r, rate(n)]) : [['none', '0']]);
  facts('admission', [
    ['refused/s', rate(s.admission.refusedPerSec)],
    ['protected/s', rate(s.admission.protectedPerSec)],
    ['refused in all', count(s.admission.refused)],
  ]);

  el('bgp-section').hidden = s.bgp === undefined;
  if (s.bgp) {
    el('bgp-speaker').textContent = s.bgp.speaker ? `(speaker ${s.bgp.speaker})` : '';
    rows('bgp-peers', s.bgp.peers.map((p) => [p.address, String(p.asn), p.state, p.uptimeSec === undefined ? '—' : duration(p.uptimeSec)]));
    rows('bgp-vips', s.bgp.vips.map((v) => [v.vip, v.announced ? 'yes' : 'no', v.reason]));
  }
  charts.draw(history);
}

const stream = new SnapshotStream({
  connected: () => {
    conn('live');
    alert(undefined);
    el('signin').hidden = true;
  },
  snapshot: (s) => {
    last = s;
    history.add(s);
    draw(s);
    conn(`live · ${new Date(s.at).toLocaleTimeString()}`);
  },
  failed: (err, retryMs) => {
    if (err instanceof ApiError && err.status === 401) {
      const had = token.get() !== null;
      conn('not signed in', true);
      alert(had ? `The API refused the token: ${err.message}` : 'This API needs a token.');
      const ask = () => askToken(had ? `That token was refused (${err.code ?? '401'}).` : undefined, (t) => {
        token.set(t);
        stream.start();
      });
      // The prompt can be dismissed (Escape); this brings it back.
      const signin = el<HTMLButtonElement>('signin');
      signin.hidden = false;
      signin.onclick = ask;
      ask();
      return;
    }
    conn(retryMs === undefined ? 'disconnected' : `disconnected; retrying in ${retryMs / 1000} s`, true);
    alert(`The live stream failed: ${err.message}${err instanceof ApiError && err.code ? ` [${err.code}]` : ''}`);
  },
});
stream.start();
