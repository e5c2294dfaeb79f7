// The nightly pages: one per night, and an index with each cell's trend over the nights; the
// night's exit code. Data in (results/night.ts), HTML out; the runner is campaign/night.ts.
import { relative } from 'node:path';
import * as Plot from '@observablehq/plot';
import { parseHTML } from 'linkedom';
import type { Night } from '../results/night.ts';
import { percentile } from '../results/stats.ts';
import type { RunRow, TrialRow } from './history.ts';
import { esc, page } from './html.ts';

/** Regressions or broken cells make a night red (for CI); a subject failing its known checks does not. */
/** 1 for a regression against the night before, 3 for a cell without a verdict (a failed cell,
 * harness errors), 130 when stopped: a subject's known failing checks are findings, not a bad night. */
export function nightExitCode(n: Night): number {
  if (n.interrupted) return 130;
  if (n.cells.some((c) => (c.compared?.regressions ?? 0) > 0)) return 1;
  return n.cells.some((c) => c.status === 'failed' || (c.run?.errors ?? 0) > 0) ? 3 : 0;
}

/** One night: each cell's status, checks, comparison with the night before, and links. */
export function nightHtml(n: Night): string {
  const rows = n.cells.map((c) => {
    const status = c.status === 'done' ? `done (${c.run?.passed ?? 0} passed, ${c.run?.failed ?? 0} failed)` : c.status;
    const cmp = c.compared
      ? `<a href="${esc(c.compared.html)}">${c.compared.regressions} regressions, ${c.compared.improvements} improvements</a> vs ` +
        `${esc(c.compared.with)}`
      : c.status === 'done'
        ? 'first night of this cell'
        : '';
    const cls =
      c.status === 'failed' || (c.compared?.regressions ?? 0) > 0 ? 'bad' : c.status === 'done' ? 'good' : 'note';
    return `<tr><td>${esc(c.id)}</td><td class="${cls}">${esc(status)}${
      c.why ? `<br><span class="note">${esc(c.why)}</span>` : ''
    }</td><td>${
      c.html ? `<a href="${esc(c.html)}">report</a>` : '-'
    }</td><td>${cmp}</td><td>${c.seconds.toFixed(0)} s</td></tr>`;
  });
  return page(`l2lab nightly ${n.startedAt}`, [
    `<h1>l2lab nightly: ${esc(n.startedAt)}</h1>`,
    `<p>Matrix ${esc(n.matrix)}; ${n.cells.length} cells${
      n.interrupted ? ', <b class="bad">interrupted</b>: the cells after it did not ' + 'run' : ''
    }; finished ${esc(n.finishedAt ?? 'not yet')}.</p>`,
    '<table><tr><th>cell</th><th>status</th><th>report</th><th>against the previous night</th><th>time</th></tr>',
    ...rows,
    '</table>',
    '<p><a href="../index.html">all nights</a></p>',
  ]);
}

export interface TrendSeries {
  cell: string;
  runs: RunRow[];
  trials: TrialRow[];
}

/**
 * The index: every night (newest first) and, per cell, the median ARP outage of each fault over
 * the nights — the headline figure's trend, one plot per cell.
 */
export function indexHtml(nights: { dir: string; night: Night }[], trends: TrendSeries[], root: string): string {
  const { document } = parseHTML('<!doctype html><html><head></head><body></body></html>');
  const plots = trends.map((s) => {
    const points = s.runs.flatMap((r) => {
      const ts = s.trials.filter(
        (t) => t.runId === r.id && t.check === 'failover' && typeof t.arpOutageMs === 'number',
      );
      return [...new Set(ts.map((t) => t.fault))].map((fault) => {
        const xs = ts.filter((t) => t.fault === fault).map((t) => t.arpOutageMs as number);
        return { at: new Date(r.startedAt), fault, ms: percentile(xs, 50)! };
      });
    });
    if (!points.length) return `<h3>${esc(s.cell)}</h3><p class="note">No failover trials yet.</p>`;
    const svg = Plot.plot({
      document: document as unknown as Document,
      className: 'l2l-trend',
      width: 900,
      height: 260,
      marginLeft: 60,
      x: { type: 'utc', label: 'night →' },
      y: { label: '↑ median ARP outage (ms)', grid: true, zero: true },
      color: { legend: true, scheme: 'tableau10' },
      marks: [
        Plot.line(points, { x: 'at', y: 'ms', stroke: 'fault' }),
        Plot.dot(points, {
          x: 'at',
          y: 'ms',
          stroke: 'fault',
          r: 3,
          title: (d: { ms: number }) => `${Math.round(d.ms)} ms`,
        }),
      ],
    }) as unknown as Element;
    return `<h3>${esc(s.cell)}</h3><figure class="trend">${svg.outerHTML}</figure>`;
  });
  return page('l2lab nightly', [
    '<h1>l2lab nightly runs</h1>',
    '<table><tr><th>night</th><th>cells</th><th>regressions</th><th>status</th></tr>',
    ...nights.map(({ dir, night: n }) => {
      const regressions = n.cells.reduce((s, c) => s + (c.compared?.regressions ?? 0), 0);
      const failed = n.cells.filter((c) => c.status === 'failed').length;
      const status = n.interrupted ? 'interrupted' : failed ? `${failed} cells failed` : 'complete';
      return (
        `<tr><td><a href="${esc(relative(root, dir))}/index.html">${esc(n.startedAt)}</a></td><td>${n.cells.length}</td><td ` +
        `class="${regressions ? 'bad' : 'good'}">${regressions}</td><td ` +
        `class="${failed || n.interrupted ? 'bad' : 'good'}">${status}</td></tr>`
      );
    }),
    '</table>',
    '<h2>Trends</h2>',
    ...plots,
  ]);
}
