// Three uPlot charts over the tab's 15-minute history: packets received and
// new flows (in total and for the chosen service), drops. Redrawn with each
// snapshot; uPlot draws on a canvas, so 900 points a series is cheap.
import uPlot from 'uplot';
import type { History } from './history';
import { si } from './format';

interface Chart {
  plot: uPlot;
  data: (s: ReturnType<History['series']>) => uPlot.AlignedData;
}

const TOTAL = '#0969da';
const SERVICE = '#bf3989';

function make(el: HTMLElement, series: uPlot.Series[]): uPlot {
  const width = Math.max(280, el.clientWidth || 320);
  return new uPlot({
    width,
    height: 160,
    legend: { show: true },
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true } },
    axes: [{}, { values: (_u, ticks) => ticks.map((t) => si(t)), size: 50 }],
    series: [{}, ...series],
  }, [[], ...series.map(() => [])], el);
}

export class Charts {
  private readonly charts: Chart[] = [];
  private service: string | undefined;

  constructor(root: Document) {
    const el = (id: string) => root.getElementById(id) as HTMLElement;
    const total = (label: string, color = TOTAL): uPlot.Series => ({ label, stroke: color, width: 1.5, value: (_u, v) => (v == null ? '—' : si(v)) });
    this.charts.push({
      plot: make(el('chart-pps'), [total('all'), total('chosen service', SERVICE)]),
      data: (s) => [s.times, s.rxPps, s.servicePps],
    });
    this.charts.push({
      plot: make(el('chart-flows'), [total('all'), total('chosen service', SERVICE)]),
      data: (s) => [s.times, s.newFlows, s.serviceNewFlows],
    });
    this.charts.push({
      plot: make(el('chart-drops'), [total('all', '#cf222e')]),
      data: (s) => [s.times, s.drops],
    });
  }

  select(service: string | undefined): void {
    this.service = service;
    for (const c of this.charts) {
      if (c.plot.series.length > 2) c.plot.setSeries(2, { show: service !== undefined });
    }
  }

  draw(history: History): void {
    const s = history.series(this.service);
    for (const c of this.charts) c.plot.setData(c.data(s));
  }
}
