// Structured logs: one JSON object per line on stdout, with an ISO timestamp and the node.
export type Log = (event: string, fields?: Record<string, unknown>) => void;

export function jsonLog(node: string, write: (line: string) => void = (l) => process.stdout.write(l)): Log {
  return (event, fields = {}) =>
    write(`${JSON.stringify({ time: new Date().toISOString(), node, event, ...fields })}\n`);
}
