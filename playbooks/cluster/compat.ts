// Which Gateway API CRD versions go with which Cilium version. Only what is known is refused;
// everything else passes with a note that it is untested.
export interface Compat {
  ok: boolean;
  known: boolean;
  message: string;
}

function parse(v: string): [number, number, number] {
  const m = /^v?(\d+)\.(\d+)(?:\.(\d+))?/.exec(v);
  if (!m) throw new Error(`"${v}" is not a version such as 1.20.0 or v1.4.1`);
  return [Number(m[1]), Number(m[2]), Number(m[3] ?? 0)];
}
const atLeast = (v: [number, number, number], min: [number, number, number]) =>
  v[0] !== min[0] ? v[0] > min[0] : v[1] !== min[1] ? v[1] > min[1] : v[2] >= min[2];

export function checkCompat(cilium: string, gatewayAPI: string): Compat {
  const c = parse(cilium),
    g = parse(gatewayAPI);
  if (!atLeast(c, [1, 20, 0]) && atLeast(g, [1, 4, 0]))
    return {
      ok: false,
      known: true,
      message:
        `Cilium ${cilium} with Gateway API ${gatewayAPI}: known bad — Gateway API v1.4 CRDs break the operator of Cilium < 1.20 ` +
        `(the tutorial saw the Gateway get no address with 1.19). Use Cilium ≥ 1.20 (e.g. 1.20.0-pre.1), or older Gateway API CRDs.`,
    };
  if (atLeast(c, [1, 20, 0]) && g[0] === 1 && g[1] === 4)
    return { ok: true, known: true, message: `Cilium ${cilium} with Gateway API ${gatewayAPI}: the tutorial's pair` };
  return {
    ok: true,
    known: false,
    message:
      `Cilium ${cilium} with Gateway API ${gatewayAPI}: not a known pair; proceeding (check Cilium's documentation for the ` +
      `supported Gateway API version)`,
  };
}
