import { allTrials, defineCheck } from '../check.ts';

export default defineCheck({
  id: 'gratuitous',
  title: 'Gratuitous ARP and unsolicited NA on takeover',
  description:
    'In every failover trial the new holder announces itself: a gratuitous ARP (and, where IPv6 is claimed, an unsolicited neighbour ' +
    'advertisement with the Override flag and the target link-layer address, as a receiver needs them) from the new MAC.',
  features: ['gratuitous-arp'],
  injects: ['power-off'],
  async run(ctx, opts) {
    let trials = allTrials(opts).filter((t) => t.arp?.newMac || t.ndp?.newMac);
    if (!trials.length) trials = [await ctx.trial('power-off', 1)].filter((t) => t.arp?.newMac || t.ndp?.newMac);
    // No takeover, nothing announced: that is not a pass (failover says why).
    if (!trials.length)
      return { status: 'failed', reason: 'no failover trial had a new responder: no takeover to announce' };
    const problems: string[] = [];
    const figures: Record<string, number | null> = {};
    // Each claimed family is judged on its own: a family in which no takeover was seen is not a pass.
    const families = [
      { key: 'arp', what: 'gratuitous ARP', claimed: ctx.subject.has('ipv4') },
      { key: 'ndp', what: 'unsolicited NA', claimed: ctx.subject.has('ipv6') && ctx.subject.has('unsolicited-na') },
    ] as const;
    for (const f of families.filter((x) => x.claimed)) {
      const moved = trials.filter((t) => t[f.key]?.newMac);
      if (!moved.length)
        problems.push(`${f.key.toUpperCase()}: no takeover seen in any trial, so no ${f.what} to judge`);
      const late: number[] = [];
      for (const t of moved) {
        const fo = t[f.key]!;
        if (fo.announceMs === undefined) problems.push(`${t.fault} #${t.trial}: no ${f.what} from ${fo.newNode}`);
        else if (fo.takeoverMs !== undefined) late.push(fo.announceMs - fo.takeoverMs);
        // An announcement a receiver cannot use is no announcement: clients keep the dead node's MAC.
        for (const flaw of fo.naFlaws ?? []) if (!problems.includes(flaw)) problems.push(flaw);
      }
      // Announcing late (after the new responder already answered) is reported with its delay, not as missing.
      figures[`${f.key}.announce_after_takeover_max_ms`] = late.length ? Math.round(Math.max(...late)) : null;
    }
    const details = trials.map(
      (t) =>
        `${t.fault} #${t.trial}: ` +
        families
          .filter((f) => f.claimed)
          .map((f) => {
            const fo = t[f.key];
            if (fo?.announceMs === undefined) return `${f.what} -`;
            const after =
              fo.takeoverMs === undefined
                ? ''
                : fo.announceMs >= fo.takeoverMs
                  ? ` (${(fo.announceMs - fo.takeoverMs).toFixed(0)} ms after the takeover)`
                  : ` (${(fo.takeoverMs - fo.announceMs).toFixed(0)} ms before the takeover)`;
            return `${f.what} ${fo.announceMs.toFixed(0)} ms after the fault${after}`;
          })
          .join(', '),
    );
    return problems.length
      ? { status: 'failed', reason: problems.join('; '), details, figures }
      : { status: 'passed', details, figures };
  },
});
