// One self-contained HTML file per run or comparison: outage distributions as strip and box plots,
// and per trial the packet timeline drawn from its capture (who answered when, the fault, the
// budget), so a person sees the failover instead of reading it. Observable Plot renders the SVG
// here, into linkedom's document; the file needs no network and no script to be read.
import { existsSync } from 'node:fs';
import { join, relative } from 'node:path';
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';
import { type RunResults, readResults, type Trial } from '../results/schema.ts';
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
        stroke: bySeries ? 'series' : 'family',
        r: 4,
        strokeWidth: 2,
        title: (d: OutagePoint) => `${d.ms.toFixed(0)} ms`,
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

interface TimelineDatum extends TimelinePoint {
  ms: number;
  who: string;
}

/** A trial's packets: one row per kind, a tick per frame coloured by who sent it; the fault at 0. */
export function timelinePlot(
  points: TimelinePoint[],
  faultAtUs: number,
  budgetMs: number,
  names: Map<string, string>,
): string {
  const data: TimelineDatum[] = points.map((p) => ({
    ...p,
    ms: (p.t - faultAtUs) / 1000,
    who: names.get(p.mac) ?? p.mac,
  }));
  const used = lanes.filter((l) => data.some((d) => d.lane === l));
  const xs = data.map((d) => d.ms);
  return svg({
    className: 'l2l-timeline',
    width: 1000,
    height: 70 + 26 * used.length,
    marginLeft: 120,
    marginRight: 30,
    x: { label: 'ms after the fault →', grid: true, domain: [Math.min(0, ...xs), Math.max(budgetMs, ...xs) * 1.02] },
    y: { domain: used, label: null },
    color: { legend: true, scheme: 'tableau10' },
    marks: [
      Plot.tickX(data, { x: 'ms', y: 'lane', stroke: 'who', strokeWidth: 1.2 }),
      Plot.ruleX([0], { stroke: '#000' }),
      Plot.text([0], { x: (d: number) => d, frameAnchor: 'top', text: () => 'fault', dx: 3, textAnchor: 'start' }),
      Plot.ruleX([budgetMs], { stroke: '#b3261e', strokeDasharray: '5,3' }),
      Plot.text([budgetMs], {
        x: (d: number) => d,
        frameAnchor: 'top',
        text: () => 'budget',
        fill: '#b3261e',
        dx: -3,
        textAnchor: 'end',
      }),
    ],
  });
}

const fmt = (v: number | undefined) => (v === undefined ? '-' : `${Math.round(v)} ms`);

function trialSection(dir: string, r: RunResults, t: Trial, names: Map<string, string>): string {
  const head =
    `${t.fault} trial ${t.trial}: ${t.passed ? 'passed' : 'failed'}; ARP ${fmt(t.arp?.outageMs)}, NDP ` +
    `${fmt(t.ndp?.outageMs)}, HTTP ${fmt(t.http?.outageMs)}; ${t.arp?.oldNode ?? t.ndp?.oldNode ?? '?'} → ` +
    `${t.arp?.newNode ?? t.ndp?.newNode ?? 'nobody'}`;
  let body: string;
  const path = t.capture ? join(dir, t.capture) : undefined;
  if (!path || !existsSync(path)) body = '<p class="note">No capture for this trial.</p>';
  else {
    try {
      const points = readPcap(path)
        .map(timelinePoint)
        .filter((p): p is TimelinePoint => p !== undefined);
      body =
        `<figure>${timelinePlot(points, Date.parse(t.faultAt) * 1000, t.budgetMs, names)}<figcaption>${esc(t.capture!)}: ` +
        `${points.length} frames captured on the client; the prober asks every ${r.probeIntervalMs} ms; its requests are captured as ` +
        `they leave, on the same clock as the answers.${
          t.problems.length ? ` Problems: ${esc(t.problems.join('; ' + ''))}` : ''
        }</figcaption></figure>`;
    } catch (e) {
      body = `<p class="note">The capture ${esc(t.capture!)} cannot be read: ${esc((e as Error).message)}</p>`;
    }
  }
  return `<details class="trial" open><summary>${esc(head)}</summary>${body}</details>`;
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

/** A run's page; its results are read from the folder unless the caller has them. */
export function runHtml(dir: string, results?: RunResults): string {
  const r = results ?? readResults(join(dir, 'results.json'));
  const names = macNames(r);
  const trials = r.checks.flatMap((c) => c.trials.map((t) => ({ check: c.id, t })));
  const faults = [...new Set(trials.filter((x) => x.check === 'failover').map((x) => x.t.fault))];
  const body = [
    `<h1>l2lab: ${esc(r.subject.name)} ${esc(r.subject.version)} on lab ${esc(r.lab.name)}</h1>`,
    `<p>${esc(r.lab.provider)} lab, ${esc(r.startedAt)} → ${esc(r.finishedAt)}, kernel ${esc(r.environment.kernel)}, l2lab ` +
      `${esc(r.environment.l2labCommit)}, probes every ${r.probeIntervalMs} ms${
        r.subject.lease
          ? `, lease ${r.subject.lease.durationMs} / ` +
            `${r.subject.lease.renewDeadlineMs} / ${r.subject.lease.retryPeriodMs} ms`
          : ''
      }.</p>`,
    `<p><b>${r.summary.passed} passed, ${r.summary.failed} failed</b>, ${r.summary.skipped} skipped, ${r.summary.info} ` +
      `informational${r.summary.errors ? `, ${r.summary.errors} harness errors` : ''}.</p>`,
    '<h2>Checks</h2>',
    table(
      [['check', 'status', 'note'], ...r.checks.map((c) => [c.id, c.status, c.reason ?? c.details[0] ?? ''])],
      (row, i) => (i === 1 ? row[1] : undefined),
    ),
  ];
  for (const fault of faults) {
    const ts = trials.filter((x) => x.check === 'failover' && x.t.fault === fault).map((x) => x.t);
    const points = ts.flatMap((t) =>
      families.flatMap((f) => {
        const ms = t[f.key]?.outageMs;
        return ms === undefined ? [] : [{ family: f.label, ms, series: r.subject.name }];
      }),
    );
    body.push(`<h2>Failover: ${esc(fault)}</h2>`);
    body.push(
      points.length
        ? `<figure class="outages">${outagePlot(points, ts[0]?.budgetMs, false)}<figcaption>Outage per trial (dots) and their spread ` +
            `(box), ${ts.length} trials; the red line is the budget (${ts[0]?.budgetMs} ms).</figcaption></figure>`
        : '<p class="note">No takeover in any trial.</p>',
    );
    for (const t of ts) body.push(trialSection(dir, r, t, names));
  }
  const others = trials.filter((x) => x.check !== 'failover');
  if (others.length) {
    body.push('<h2>Other trials</h2>');
    for (const { check, t } of others) body.push(`<h3>${esc(check)}</h3>`, trialSection(dir, r, t, names));
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
