// One self-contained HTML file per run or comparison: outage distributions as strip and box plots,
// and per trial the packet timeline drawn from its capture (who answered when, the fault, the
// budget), so a person sees the failover instead of reading it. Observable Plot renders the SVG
// here, into linkedom's document; the file needs no network and no script to be read.
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';
import { eventsFileOf } from '../results/folder.ts';
import { knownLine } from '../results/known.ts';
import { type RunResults, readResults, type Trial } from '../results/schema.ts';
import { percentile } from '../results/stats.ts';
import { checkTable, type RunComparison, type Side } from './compare-runs.ts';
import { type Comparison, comparisonTable, subjectsTable } from './compare-subjects.ts';
import { lanes, readPcap, type TimelinePoint, timelinePoint } from './pcap-file.ts';

const { document } = parseHTML('<!doctype html><html><head></head><body></body></html>');

/** Text made safe for HTML. */
export const esc = (s: string) =>
  s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);

const families = [
  { key: 'arp', label: 'ARP' },
  { key: 'ndp', label: 'NDP' },
  { key: 'http', label: 'HTTP' },
] as const;

function svg(options: Plot.PlotOptions): string {
  return (Plot.plot({ ...options, document: document as unknown as Document }) as unknown as Element).outerHTML;
}

const STYLE =
  `
body { font: 14px/1.45 system-ui, sans-serif; margin: 2em auto; max-width: 1100px; padding: 0 1em; color: #222; }
h1 { font-size: 1.5em; } h2 { margin-top: 2em; border-bottom: 1px solid #ddd; } h3 { margin-bottom: .3em; }
table { border-collapse: collapse; margin: .5em 0 1em; } td, th { border: 1px solid #ddd; padding: 3px 8px; text-align: left; ` +
  `vertical-align: top; }
th { background: #f6f6f6; } .passed, .good { color: #176f2c; } .failed, .error, .regression, .bad { color: #b3261e; font-weight: 600; }
.skipped, .info { color: #666; } .improvement { color: #176f2c; font-weight: 600; }
figure { margin: .5em 0 1.5em; } figcaption { color: #555; font-size: .9em; }
details > summary { cursor: pointer; margin: .3em 0; } .note { color: #555; }
.verdict { font-size: 1.15em; padding: .4em .6em; border-left: 5px solid currentColor; background: #fafafa; }
.defs { background: #f6f6f6; padding: .4em .6em; font-size: .92em; }
.known { margin: .3em 0 0; color: #6b4f00; font-size: .92em; }
`;

/** A whole self-contained page: the styles inline, the body as given. */
export function page(title: string, body: string[]): string {
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>${esc(title)}</title>`,
    `<style>${STYLE}</style>`,
    '</head><body>',
    ...body,
    `<p class="note">Written by l2lab on ${new Date().toISOString()}.</p>`,
    '</body></html>',
  ].join('\n');
}

function table(rows: string[][], cls?: (row: string[], col: number) => string | undefined): string {
  const [head, ...rest] = rows;
  return [
    '<table>',
    `<tr>${head!.map((h) => `<th>${esc(h)}</th>`).join('')}</tr>`,
    ...rest.map(
      (r) =>
        `<tr>${r
          .map((c, i) => {
            const k = cls?.(r, i);
            return `<td${k ? ` class="${k}"` : ''}>${esc(c)}</td>`;
          })
          .join('')}</tr>`,
    ),
    '</table>',
  ].join('\n');
}

interface OutagePoint {
  family: string;
  ms: number;
  series: string;
}

/** Strip plot (a dot per trial) over a box plot, per family, with the budget as a red line. */
function outagePlot(points: OutagePoint[], budgetMs: number | undefined, bySeries: boolean): string {
  const y = bySeries ? (d: OutagePoint) => `${d.family} · ${d.series}` : (d: OutagePoint) => d.family;
  const xs = points.map((p) => p.ms);
  return svg({
    className: 'l2l-outages',
    width: 900,
    height: 60 + 34 * new Set(points.map(y)).size,
    marginLeft: 140,
    x: { label: 'outage (ms) →', grid: true, domain: [0, Math.max(...xs, budgetMs ?? 0) * 1.05 || 1] },
    y: { label: null },
    color: { legend: bySeries, scheme: 'tableau10' },
    marks: [
      Plot.boxX(points, { x: 'ms', y, stroke: '#999', fill: '#eee' }),
      Plot.dot(points, {
        x: 'ms',
        y,
        ...(bySeries ? { stroke: 'series' } : { stroke: '#333', symbol: 'family' }),
        r: 4,
        strokeWidth: 2,
        title: (d: OutagePoint) => `${d.family} outage ${d.ms.toFixed(0)} ms`,
      }),
      ...(budgetMs
        ? [
            Plot.ruleX([budgetMs], { stroke: '#b3261e', strokeDasharray: '5,3' }),
            Plot.text([budgetMs], {
              x: (d: number) => d,
              frameAnchor: 'top',
              dy: -2,
              text: () => 'budget',
              fill: '#b3261e',
              textAnchor: 'end',
              dx: -3,
            }),
          ]
        : []),
    ],
  });
}

/** scale-curve's points, as its `curve` figure carries them (one series per subject/setting). */
export interface CurveSeries {
  setting: string;
  describe: string;
  points: {
    vips: number;
    medianMs?: number | null;
    p95Ms?: number | null;
    maxMs?: number | null;
    allowedMs?: number;
    note?: string;
  }[];
}

/** The curves of a run's scale-curve check, if it ran (series named by `prefix` + setting). */
export function curvesOf(r: RunResults, prefix = ''): CurveSeries[] {
  const raw = r.checks.find((c) => c.id === 'scale-curve')?.figures.curve;
  if (typeof raw !== 'string') return [];
  return (JSON.parse(raw) as CurveSeries[]).map((s) => ({ ...s, setting: `${prefix}${s.setting}` }));
}

/** Failover time against the number of VIPs: the median as a line, p95 and max as marks, per series. */
export function curvePlot(series: CurveSeries[]): string {
  type D = { series: string; vips: number; ms: number; what: string };
  // Judged points only: where the limit is below the demand, leases flap and the times mean nothing.
  const data: D[] = series.flatMap((s) =>
    s.points
      .filter((p) => p.allowedMs !== undefined)
      .flatMap((p) =>
        (
          [
            ['median', p.medianMs],
            ['p95', p.p95Ms],
            ['max', p.maxMs],
          ] as const
        ).flatMap(([what, ms]) => (typeof ms === 'number' ? [{ series: s.setting, vips: p.vips, ms, what }] : [])),
      ),
  );
  const allowed = series.flatMap((s) =>
    s.points.flatMap((p) =>
      p.allowedMs ? [{ series: s.setting, vips: p.vips, ms: p.allowedMs, what: 'explained' }] : [],
    ),
  );
  const median = data.filter((d) => d.what === 'median');
  const top = Math.max(1000, ...data.map((d) => d.ms), ...allowed.map((d) => d.ms)) * 1.08;
  const lost: D[] = series.flatMap((s, k) =>
    s.points
      .filter((p) => p.allowedMs === undefined)
      .map((p) => ({
        series: s.setting,
        vips: p.vips,
        ms: top * (1 + 0.05 * k),
        what: 'leases lost (limit below the demand)',
      })),
  );
  return svg({
    className: 'l2l-curve',
    width: 900,
    height: 420,
    marginLeft: 60,
    x: { label: 'VIPs →', type: 'log', grid: true },
    y: { label: '↑ takeover after the power-off (ms)', grid: true, zero: true },
    color: { legend: true, scheme: 'tableau10' },
    symbol: { legend: true },
    marks: [
      Plot.line(median, { x: 'vips', y: 'ms', stroke: 'series', strokeWidth: 2 }),
      Plot.line(allowed, { x: 'vips', y: 'ms', stroke: 'series', strokeDasharray: '4,3', strokeOpacity: 0.6 }),
      Plot.dot(data, {
        x: 'vips',
        y: 'ms',
        stroke: 'series',
        symbol: 'what',
        r: 4,
        title: (d: D) => `${d.series}: ${d.what} ${d.ms} ms at ${d.vips} VIPs`,
      }),
      Plot.dot(lost, {
        x: 'vips',
        y: 'ms',
        stroke: 'series',
        symbol: 'what',
        r: 6,
        strokeWidth: 2,
        title: (d: D) => `${d.series}: at ${d.vips} VIPs the client limit is below the lease calls' demand: not judged`,
      }),
    ],
  });
}

/** The curve's section: the plot and its numbers, per series and point. */
function curveSection(series: CurveSeries[]): string[] {
  if (!series.length) return [];
  const rows = [
    ['series', 'VIPs', 'median ms', 'p95 ms', 'max ms', 'explained up to ms', 'note'],
    ...series.flatMap((s) =>
      s.points.map((p) => [
        s.setting,
        String(p.vips),
        String(p.medianMs ?? '-'),
        String(p.p95Ms ?? '-'),
        String(p.maxMs ?? '-'),
        String(p.allowedMs ?? 'not judged'),
        p.note ?? '',
      ]),
    ),
  ];
  return [
    '<h2 id="check-scale-curve">Failover against the number of VIPs</h2>',
    `<figure>${curvePlot(series)}<figcaption>Per point one power-off of the node holding the most VIPs: the time until ` +
      'another node answered each of its VIPs — the median as a line, p95 and max as marks; dashed, what 1.5 × the ' +
      'single-VIP budget and the client rate limit explain; along the top, points whose limit is below the steady demand ' +
      'of the lease calls (leases lost without a fault: not judged). Series: ' +
      `${series.map((s) => `${esc(s.setting)} (${esc(s.describe)})`).join('; ')}.</figcaption></figure>`,
    table(rows),
  ];
}

interface TimelineDatum extends TimelinePoint {
  ms: number;
  who: string;
}

/** One colour per machine, the same in every plot of a page: nodes in order, then client and prober. */
export interface NodeColours {
  domain: string[];
  range: string[];
}

const PALETTE = ['#4e79a7', '#f28e2b', '#59a14f', '#e15759', '#76b7b2', '#edc948', '#b07aa1', '#ff9da7', '#9c755f'];

export function nodeColours(names: string[]): NodeColours {
  return {
    domain: names,
    range: names.map((n, i) => (n === 'client' ? '#555' : n === 'prober' ? '#aaa' : PALETTE[i % PALETTE.length]!)),
  };
}

/** What the timeline marks for one family: the figures of the trial, ms after the fault. */
export interface FamilyMarks {
  family: 'ARP' | 'NDP';
  /** The fault → the new holder's first answer. */
  takeoverMs?: number;
  /** The old holder's last answer → the new holder's first. */
  outageMs?: number;
  /** The new holder's first announcement (gratuitous ARP / unsolicited NA). */
  announceMs?: number;
}

const familyLanes = { ARP: ['ARP request', 'ARP reply', 'gratuitous ARP'], NDP: ['NS', 'NA', 'unsolicited NA'] };

/**
 * A trial's packets: one row per kind (requests and answers), a tick per frame in its sender's
 * colour; the fault at 0; per family the outage shaded (old holder's last answer → new holder's
 * first), the takeover and the announcement named.
 */
export function timelinePlot(
  points: TimelinePoint[],
  faultAtUs: number,
  budgetMs: number,
  names: Map<string, string>,
  marks: FamilyMarks[] = [],
  colours?: NodeColours,
): string {
  const data: TimelineDatum[] = points.map((p) => ({
    ...p,
    ms: (p.t - faultAtUs) / 1000,
    who: names.get(p.mac) ?? p.mac,
  }));
  const used = lanes.filter((l) => data.some((d) => d.lane === l));
  const xs = data.map((d) => d.ms);
  const others = [...new Set(data.map((d) => d.who))].filter((w) => !colours?.domain.includes(w));
  const colour = colours
    ? { domain: [...colours.domain, ...others], range: [...colours.range, ...others.map(() => '#999')] }
    : { scheme: 'tableau10' as const };
  const spans = marks.flatMap((m) =>
    m.takeoverMs !== undefined && m.outageMs !== undefined
      ? familyLanes[m.family]
          .filter((l) => used.includes(l as (typeof used)[number]))
          .map((lane) => ({ lane, x1: m.takeoverMs! - m.outageMs!, x2: m.takeoverMs!, m }))
      : [],
  );
  // Named once, on the first family that has the figures (ARP, else NDP): no label soup.
  const named = marks.find((m) => m.takeoverMs !== undefined && m.outageMs !== undefined);
  const label = (x: number, text: string, fill: string, dy: number) =>
    Plot.text([x], { x: (d: number) => d, frameAnchor: 'top', dy, text: () => text, fill, textAnchor: 'start', dx: 3 });
  return svg({
    className: 'l2l-timeline',
    width: 1000,
    height: 100 + 26 * used.length,
    marginLeft: 120,
    marginRight: 30,
    marginTop: 48,
    x: { label: 'ms after the fault →', grid: true, domain: [Math.min(0, ...xs), Math.max(budgetMs, ...xs) * 1.02] },
    y: { domain: used, label: null },
    color: { legend: true, ...colour },
    marks: [
      Plot.barX(spans, {
        x1: 'x1',
        x2: 'x2',
        y: 'lane',
        fill: '#f4c7c3',
        fillOpacity: 0.6,
        title: (d: (typeof spans)[number]) => `${d.m.family} outage ${Math.round(d.m.outageMs!)} ms`,
      }),
      Plot.tickX(data, { x: 'ms', y: 'lane', stroke: 'who', strokeWidth: 1.2 }),
      Plot.ruleX([0], { stroke: '#000' }),
      label(0, 'fault', '#000', -44),
      ...(named
        ? [
            Plot.ruleX([named.takeoverMs! - named.outageMs!], { stroke: '#b3261e', strokeDasharray: '2,2' }),
            label(named.takeoverMs! - named.outageMs!, "old holder's last answer", '#b3261e', -30),
            Plot.ruleX([named.takeoverMs!], { stroke: '#176f2c' }),
            label(
              named.takeoverMs!,
              `new holder's first answer: takeover ${Math.round(named.takeoverMs!)} ms, outage ${Math.round(named.outageMs!)} ms`,
              '#176f2c',
              -16,
            ),
          ]
        : []),
      ...marks
        .filter((m) => m.announceMs !== undefined)
        .map((m) =>
          Plot.ruleX([m.announceMs!], {
            y1: familyLanes[m.family].find((l) => used.includes(l as (typeof used)[number])) ?? used[0],
            stroke: '#6a3d9a',
            strokeWidth: 2,
            title: () => `${m.family} announcement ${Math.round(m.announceMs!)} ms after the fault`,
          }),
        ),
      Plot.ruleX([budgetMs], { stroke: '#b3261e', strokeDasharray: '5,3' }),
      Plot.text([budgetMs], {
        x: (d: number) => d,
        frameAnchor: 'bottom',
        text: () => 'budget',
        fill: '#b3261e',
        dx: -3,
        dy: -2,
        textAnchor: 'end',
      }),
    ],
  });
}

const fmt = (v: number | undefined) => (v === undefined ? '-' : `${Math.round(v)} ms`);

/** The figures every page names the same way (table, JSON, JUnit properties, timelines). */
const DEFINITIONS =
  '<p class="defs"><b>Takeover</b>: the fault → the new holder\'s first answer. <b>Outage</b>: the old holder\'s last ' +
  "answer → the new holder's first, what a client waits. Both from the capture on the outside client.</p>";

/** A trial's one-line story: who to whom, takeover and outage per family, HTTP outage. */
function trialLine(t: Trial): string {
  const fam = (label: string, f: Trial['arp']) =>
    f ? `${label} takeover ${fmt(f.takeoverMs)}, outage ${fmt(f.outageMs)}` : undefined;
  return [
    `${t.fault} #${t.trial} ${t.passed ? 'passed' : 'failed'}: ${t.arp?.oldNode ?? t.ndp?.oldNode ?? '?'} → ` +
      `${t.arp?.newNode ?? t.ndp?.newNode ?? 'nobody'}`,
    fam('ARP', t.arp),
    fam('NDP', t.ndp),
    t.http ? `HTTP outage ${fmt(t.http.outageMs)}` : undefined,
  ]
    .filter(Boolean)
    .join('; ');
}

/** A link to a file of the run folder, relative to where the page is; none if the file is not there. */
type Linker = (file: string, text: string) => string;

function trialSection(
  dir: string,
  r: RunResults,
  t: Trial,
  names: Map<string, string>,
  link: Linker,
  colours: NodeColours,
): string {
  let body: string;
  const path = t.capture ? join(dir, t.capture) : undefined;
  const files = t.capture
    ? [link(t.capture, 'capture (.pcap)'), link(eventsFileOf(t.capture), "the prober's events (JSON)")]
        .filter(Boolean)
        .join(' · ')
    : '';
  if (!path || !existsSync(path)) body = '<p class="note">No capture for this trial.</p>';
  else {
    try {
      const points = readPcap(path)
        .map(timelinePoint)
        .filter((p): p is TimelinePoint => p !== undefined);
      const marks: FamilyMarks[] = (['arp', 'ndp'] as const).flatMap((k) =>
        t[k] ? [{ family: k === 'arp' ? ('ARP' as const) : ('NDP' as const), ...t[k] }] : [],
      );
      body =
        `<figure>${timelinePlot(points, Date.parse(t.faultAt) * 1000, t.budgetMs, names, marks, colours)}<figcaption>` +
        `${points.length} frames captured on the client: requests and answers, a tick per frame in its sender's colour; ` +
        `the prober asks every ${r.probeIntervalMs} ms, its requests captured as they leave, on the same clock as the answers. ` +
        `Shaded: the outage; purple: the new holder's announcement.${
          t.problems.length ? ` Problems: ${esc(t.problems.join('; '))}` : ''
        }</figcaption></figure>`;
    } catch (e) {
      body = `<p class="note">The capture ${esc(t.capture!)} cannot be read: ${esc((e as Error).message)}</p>`;
    }
  }
  return (
    `<details class="trial"><summary class="${t.passed ? 'passed' : 'failed'}">${esc(trialLine(t))}</summary>` +
    `${files ? `<p>${files}</p>` : ''}${body}</details>`
  );
}

/** MAC → the node's name; the client's kernel and the suite's prober by theirs (older runs: the MAC). */
function macNames(r: RunResults): Map<string, string> {
  const names = new Map(r.lab.nodes.map((n) => [n.mac, n.name]));
  if (r.lab.client) {
    names.set(r.lab.client.mac, r.lab.client.name === 'client' ? 'client' : `${r.lab.client.name} (client)`);
    names.set(r.lab.client.proberMac, 'prober');
  }
  return names;
}

/** Per fault × family: trials, takeover median, outage median / p95 / max against the budget. */
function summaryRows(r: RunResults): string[][] {
  const rows = [['fault', 'family', 'trials', 'takeover median', 'outage median / p95 / max', 'budget', 'passed']];
  const trials = r.checks.find((c) => c.id === 'failover')?.trials ?? [];
  for (const fault of [...new Set(trials.map((t) => t.fault))]) {
    const ts = trials.filter((t) => t.fault === fault);
    for (const f of families) {
      const measured = ts.filter((t) => t[f.key] !== undefined);
      if (!measured.length) continue;
      const pick = (k: 'outageMs' | 'takeoverMs') =>
        measured
          .map((t) => (t[f.key] as { outageMs?: number; takeoverMs?: number })[k])
          .filter((x): x is number => x !== undefined);
      const out = pick('outageMs');
      const q = (p: number) => fmt(percentile(out, p));
      rows.push([
        fault,
        f.label,
        String(measured.length),
        f.key === 'http' ? '-' : fmt(percentile(pick('takeoverMs'), 50)),
        `${q(50)} / ${q(95)} / ${out.length ? fmt(Math.max(...out)) : '-'}${
          out.length < measured.length ? ` (${measured.length - out.length} without a takeover)` : ''
        }`,
        `${ts[0]!.budgetMs + (f.key === 'ndp' ? (ts[0]!.dadMs ?? 0) : 0)} ms`,
        `${ts.filter((t) => t.passed).length}/${ts.length}`,
      ]);
    }
  }
  return rows;
}

export interface RunPageOptions {
  /** The folder the page goes to (default: the run folder): links are relative to it. */
  pageDir?: string;
}

/** A run's page; its results are read from the folder unless the caller has them. */
export function runHtml(dir: string, results?: RunResults, opts: RunPageOptions = {}): string {
  const r = results ?? readResults(join(dir, 'results.json'));
  const names = macNames(r);
  const colours = nodeColours([...r.lab.nodes.map((n) => n.name), 'client', 'prober']);
  const base = opts.pageDir ?? dir;
  const link: Linker = (file, text) =>
    existsSync(join(dir, file)) ? `<a href="${esc(relative(base, join(dir, file)))}">${esc(text)}</a>` : '';
  const trials = r.checks.flatMap((c) => c.trials.map((t) => ({ check: c.id, t })));
  const faults = [...new Set(trials.filter((x) => x.check === 'failover').map((x) => x.t.fault))];
  const verdict = r.summary.errors
    ? ['error', `${r.summary.errors} harness errors: no verdict for those checks`]
    : r.summary.failed
      ? ['failed', `${r.summary.failed} of ${r.summary.passed + r.summary.failed} checks failed`]
      : ['passed', `every check judged passed (${r.summary.passed})`];
  const anchor = (id: string) => `check-${id}`;
  const body = [
    `<h1>l2lab: ${esc(r.subject.name)} ${esc(r.subject.version)} on lab ${esc(r.lab.name)}</h1>`,
    `<p class="verdict ${verdict[0]}"><b>${esc(verdict[1]!)}</b> · ${r.summary.passed} passed, ${r.summary.failed} failed, ` +
      `${r.summary.skipped} skipped, ${r.summary.info} informational${r.summary.errors ? `, ${r.summary.errors} harness errors` : ''}</p>`,
    `<p>${esc(r.lab.provider)} lab, ${esc(r.startedAt)} → ${esc(r.finishedAt)}, kernel ${esc(r.environment.kernel)}, l2lab ` +
      `${esc(r.environment.l2labCommit)}, probes every ${r.probeIntervalMs} ms${
        r.subject.lease
          ? `, lease ${r.subject.lease.durationMs} / ` +
            `${r.subject.lease.renewDeadlineMs} / ${r.subject.lease.retryPeriodMs} ms`
          : ''
      }. Files: ${['results.json', 'junit.xml', 'summary.md']
        .map((f) => link(f, f))
        .filter(Boolean)
        .join(' · ')}</p>`,
    DEFINITIONS,
  ];
  const summary = summaryRows(r);
  if (summary.length > 1)
    body.push(
      '<h2>Failover at a glance</h2>',
      table(summary, (row, i) =>
        i === 6 ? (row[6]!.split('/')[0] === row[6]!.split('/')[1] ? 'passed' : 'failed') : undefined,
      ),
    );
  body.push(
    '<h2>Checks</h2>',
    [
      '<table>',
      '<tr><th>check</th><th>status</th><th>what it asks</th><th>result</th></tr>',
      ...r.checks.map((c) => {
        const evidence = c.trials.length ? `<a href="#${anchor(c.id)}">${esc(c.id)}</a>` : esc(c.id);
        return (
          `<tr><td>${evidence}</td><td class="${esc(c.status)}">${esc(c.status)}</td><td>${esc(c.description || c.title)}</td>` +
          `<td>${esc(c.reason ?? c.details[0] ?? '')}${
            c.known?.length
              ? `<p class="known">${esc(knownLine(c.known))}: ${c.known.map((k) => esc(k.what)).join('; ')}</p>`
              : ''
          }</td></tr>`
        );
      }),
      '</table>',
    ].join('\n'),
  );
  for (const fault of faults) {
    const ts = trials.filter((x) => x.check === 'failover' && x.t.fault === fault).map((x) => x.t);
    const points = ts.flatMap((t) =>
      families.flatMap((f) => {
        const ms = t[f.key]?.outageMs;
        return ms === undefined ? [] : [{ family: f.label, ms, series: r.subject.name }];
      }),
    );
    body.push(
      `<h2 id="${fault === faults[0] ? anchor('failover') : `failover-${esc(fault)}`}">Failover: ${esc(fault)}</h2>`,
    );
    body.push(
      points.length
        ? `<figure class="outages">${outagePlot(points, ts[0]?.budgetMs, false)}<figcaption>Outage per trial (a mark per ` +
            `trial, its shape the family) and their spread (box), ${ts.length} trials; the red line is the budget ` +
            `(${ts[0]?.budgetMs} ms).</figcaption></figure>`
        : '<p class="note">No takeover in any trial.</p>',
    );
    body.push('<p class="note">Each trial below opens to its packet timeline and capture.</p>');
    for (const t of ts) body.push(trialSection(dir, r, t, names, link, colours));
  }
  body.push(...curveSection(curvesOf(r)));
  for (const c of r.checks.filter((c) => c.id !== 'failover' && c.trials.length)) {
    body.push(`<h2 id="${anchor(c.id)}">${esc(c.id)}: trials</h2>`);
    for (const t of c.trials) body.push(trialSection(dir, r, t, names, link, colours));
  }
  return page(`l2lab ${r.subject.name} ${r.subject.version}`, body);
}

/** The comparison view: per fault the two sides' outages overlaid, then the verdicts and checks. */
export function compareHtml(c: RunComparison, a: Side, b: Side): string {
  const body = [
    '<h1>l2lab: runs compared</h1>',
    `<p>a: ${esc(c.a.label)} (${esc(c.a.subjects.join(', '))} ${esc(c.a.versions.join(', '))}; ${c.a.runs.length} ` +
      `run${c.a.runs.length === 1 ? '' : 's'})<br>b: ${esc(c.b.label)} (${esc(c.b.subjects.join(', '))} ${esc(c.b.versions.join(', '))}; ` +
      `${c.b.runs.length} run${c.b.runs.length === 1 ? '' : 's'})</p>`,
    ...c.warnings.map((w) => `<p class="note">Warning: ${esc(w)}.</p>`),
    `<p class="${c.regressions ? 'failed' : c.undecided ? 'note' : 'passed'}"><b>${esc(c.headline)}</b> (rank test, ` +
      `α = ${c.settings.alpha}, at least ${c.settings.minTrials} trials a side, a change of at least ` +
      `${c.settings.minChangePercent} % of a's median).</p>`,
  ];
  // Checks first: a check newly failing is the plainest regression; skipped ones apart.
  body.push(
    '<h2>Checks</h2>',
    table([['check', 'a', 'b', 'change'], ...checkTable(c).slice(1)], (row, i) =>
      i === 3
        ? row[3] === 'newly failing'
          ? 'regression'
          : row[3] === 'fixed'
            ? 'improvement'
            : undefined
        : undefined,
    ),
  );
  body.push('<h2>Outages</h2>');
  const key = (x: { check: string; fault: string }) => `${x.check} ${x.fault}`;
  for (const k of [...new Set(c.figures.map(key))]) {
    const figs = c.figures.filter((f) => key(f) === k);
    const points: OutagePoint[] = [];
    for (const [label, side] of [
      ['a', a],
      ['b', b],
    ] as const)
      for (const t of side.trials.filter((t) => key(t) === k))
        for (const f of families) {
          const ms = f.key === 'arp' ? t.arpOutageMs : f.key === 'ndp' ? t.ndpOutageMs : t.httpOutageMs;
          if (typeof ms === 'number') points.push({ family: f.label, ms, series: label });
        }
    const budget = [...a.trials, ...b.trials].find((t) => key(t) === k)?.budgetMs;
    body.push(`<h3>${esc(k)}</h3>`);
    if (points.length)
      body.push(
        `<figure class="outages">${outagePlot(points, budget, true)}<figcaption>Outages per trial, a and b overlaid; the red line is ` +
          `the budget.</figcaption></figure>`,
      );
    body.push(
      table(
        [
          ['family', 'a: median / p95 / max (n)', 'b: median / p95 / max (n)', 'p', 'δ', 'verdict', 'why'],
          ...figs.map((f) => [
            f.family,
            `${f.a.median ?? '∞'} / ${f.a.p95 ?? '∞'} / ${f.a.max ?? '-'} (${f.a.n}${
              f.a.noTakeover ? `, ${f.a.noTakeover} no takeover` : ''
            })`,
            `${f.b.median ?? '∞'} / ${f.b.p95 ?? '∞'} / ${f.b.max ?? '-'} (${f.b.n}${
              f.b.noTakeover ? `, ${f.b.noTakeover} no takeover` : ''
            })`,
            f.pValue === undefined ? '-' : f.pValue.toPrecision(2),
            f.effect === undefined ? '-' : f.effect.toFixed(2),
            f.verdict,
            f.why,
          ]),
        ],
        (row, i) => (i === 5 ? row[5]!.replace(/ /g, '-') : undefined),
      ),
    );
  }
  return page(`l2lab compare: ${c.a.label} vs ${c.b.label}`, body);
}

/** Subjects side by side (`--subjects`): per fault every subject's outages overlaid, the tables, links to each run's page. */
export function subjectsHtml(c: Comparison, runs: { results: RunResults; dir: string }[], here: string): string {
  const body = [
    `<h1>l2lab: subjects compared on lab ${esc(c.lab)}</h1>`,
    `<p>${esc(c.createdAt)}. Outages from the client's side.${c.note ? ` <b>${esc(c.note)}</b>` : ''}</p>`,
    ...c.notRun.map((n) => `<p class="failed">Not run: ${esc(n.subject)}: ${esc(n.error.split('\n')[0] ?? '')}</p>`),
    table(subjectsTable(c)),
  ];
  const faults = [...new Set(c.subjects.flatMap((s) => s.faults.map((f) => f.fault)))];
  for (const fault of faults) {
    const points = runs.flatMap(({ results: r }) =>
      r.checks
        .filter((k) => k.id === 'failover')
        .flatMap((k) => k.trials.filter((t) => t.fault === fault))
        .flatMap((t) =>
          families.flatMap((f) => {
            const ms = t[f.key]?.outageMs;
            return ms === undefined ? [] : [{ family: f.label, ms, series: r.subject.name }];
          }),
        ),
    );
    body.push(`<h2>Failover: ${esc(fault)}</h2>`);
    if (points.length)
      body.push(
        `<figure class="outages">${outagePlot(points, undefined, true)}<figcaption>Outage per trial and subject; each subject's budget ` +
          `is in the table below.</figcaption></figure>`,
      );
  }
  body.push(...curveSection(runs.flatMap(({ results: r }) => curvesOf(r, `${r.subject.name}: `))));
  body.push('<h2>Per subject and fault</h2>', table(comparisonTable(c)), '<h2>Why checks failed</h2><ul>');
  for (const s of c.subjects)
    for (const f of s.failedChecks) body.push(`<li><b>${esc(s.subject)}</b> ${esc(f.id)}: ${esc(f.reason)}</li>`);
  body.push('</ul><h2>Runs</h2><ul>');
  for (const { results: r, dir } of runs)
    body.push(
      `<li><a href="${esc(relative(here, join(dir, 'report.html')))}">${esc(r.subject.name)} ${esc(r.subject.version)}</a></li>`,
    );
  body.push('</ul>');
  return page(`l2lab subjects on ${c.lab}`, body);
}
