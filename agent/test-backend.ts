// The test backend: GET / with the tutorial's Host answers with this node's name (the
// tutorial's "pod name in index.html"), so the client sees which node serves the VIP.
import { createServer, type Server } from 'node:http';

export function startBackend(port: number, hostname: string, node: string): Promise<Server> {
  const server = createServer((req, res) => {
    const host = (req.headers.host ?? '').replace(/:\d+$/, '').toLowerCase();
    if (host !== hostname) {
      res.writeHead(404, { 'content-type': 'text/plain' }).end(`no route for host ${host || '(none)'}\n`);
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'x-served-by': node, connection: 'close' }).end(`${node}\n`);
  });
  server.keepAliveTimeout = 0;
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen({ port, host: '::', ipv6Only: false }, () => resolve(server));
  });
}
