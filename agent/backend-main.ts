// The test backend alone (for subjects other than the reference announcer, e.g. keepalived).
//   node dist/backend.mjs --node NAME [--port 80] [--hostname myservice.findichgut.net]
import { parseArgs } from 'node:util';
import { startBackend } from './test-backend.ts';

const { values } = parseArgs({
  options: {
    node: { type: 'string' },
    port: { type: 'string', default: '80' },
    hostname: { type: 'string', default: 'myservice.findichgut.net' },
  },
});
if (!values.node) {
  process.stderr.write('backend: --node NAME is required\n');
  process.exit(2);
}
const server = await startBackend(Number(values.port), values.hostname!, values.node);
process.on('SIGTERM', () => {
  server.close();
  process.exit(0);
});
