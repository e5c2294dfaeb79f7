// Probe events as the prober records them, for the analysis tests: each request goes out from
// the next of the prober's addresses, each answer is sent to the address of the request it
// answers, and the two are tied by content in capture order (the array's), as prober-process.ts ties them.
import { attributeAnswers } from '../conformance/analyze.ts';
import type { ProbeEvent } from '../conformance/events.ts';

/** An event to capture; `answers`: the index (among the requests) of the request an answer answers, default the latest one before it. */
export type Made = ProbeEvent & { answers?: number };

const SOURCES = 31;
const sourceOf = (n: number) => `198.18.0.${224 + (n % SOURCES)}`;

export function captured(events: Made[]): ProbeEvent[] {
  let requests = 0;
  const out: ProbeEvent[] = events.map(({ answers, ...e }) => {
    if (e.kind === 'arp-request' || e.kind === 'ns') return { ...e, src: sourceOf(requests++) };
    if ((e.kind === 'arp-reply' || e.kind === 'na') && !e.forClient && e.dst === undefined)
      return { ...e, dst: sourceOf(answers ?? requests - 1) };
    return e;
  });
  return attributeAnswers(out);
}
