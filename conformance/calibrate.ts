// The suite's clock against a silence of known length: a static responder paused for a scripted
// time, measured from the client as the longest gap between its answers. The pause and resume
// commands take their own time (tens of ms on a loaded machine), so the silence really lasted
// between (resume sent − pause done) and (resume done − pause sent): the measurement is held to those bounds.
import { answers } from './analyze.ts';
import type { Context } from './context.ts';

export interface ScriptedSilence {
  scriptedMs: number;
  /** The real silence's bounds (ms). */
  leastMs: number;
  mostMs: number;
  /** The longest gap between the responder's answers around the pause (ms). */
  measuredMs: number;
}

/** Pauses `process` on `node` for `scriptedMs` while probing `vip` (IPv4), and measures the silence. */
export async function scriptedSilence(
  ctx: Context,
  node: string,
  process: string,
  vip: string,
  scriptedMs: number,
): Promise<ScriptedSilence> {
  const pause = { kind: 'pause' as const, node, process };
  const at = { pauseSent: 0, pauseDone: 0, resumeSent: 0, resumeDone: 0 };
  const w = await ctx.probe(`calibrate-${scriptedMs}`, scriptedMs + 1000, {
    during: async () => {
      at.pauseSent = Date.now();
      await ctx.inject(pause);
      at.pauseDone = Date.now();
      await new Promise((r) => setTimeout(r, scriptedMs));
      at.resumeSent = Date.now();
      await ctx.undo(pause);
      at.resumeDone = Date.now();
    },
  });
  const a = answers(w.events, vip, 'arp').map((e) => e.t);
  let gap = 0;
  for (let i = 1; i < a.length; i++)
    if (a[i - 1]! >= w.faultAt - 50_000) gap = Math.max(gap, (a[i]! - a[i - 1]!) / 1000);
  return {
    scriptedMs,
    leastMs: at.resumeSent - at.pauseDone,
    mostMs: at.resumeDone - at.pauseSent,
    measuredMs: Math.round(gap * 10) / 10,
  };
}

/** Whether a measurement lies within the real bounds ± `intervals` probe intervals (+2 ms for Date.now()'s resolution). */
export const withinBounds = (s: ScriptedSilence, probeIntervalMs: number, intervals: number): boolean =>
  s.measuredMs >= s.leastMs - intervals * probeIntervalMs - 2 &&
  s.measuredMs <= s.mostMs + intervals * probeIntervalMs + 2;
