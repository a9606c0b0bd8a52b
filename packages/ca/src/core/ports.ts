// A TCP port free on a host right now. For ports cobble must name before it listens (`--workers` shares one port
// among processes; test mode's challenge ports are where the ACME client under test will listen, not cobble).
import { createServer } from 'node:net';

export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().once('error', reject);
    server.listen(0, host, () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
  });
}
