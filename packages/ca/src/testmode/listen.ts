// The small HTTP servers of test mode (lego's httpreq endpoint, the management API) listen on loopback and read
// request bodies the same way.
import { once } from 'node:events';
import type { IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface LoopbackServer {
  url: string;
  port: number;
  close(): Promise<void>;
}

/** Listens on 127.0.0.1:`port` (0 = a free port); rejects with the listen error (e.g. EADDRINUSE). */
export async function listenOnLoopback(server: Server, port: number): Promise<LoopbackServer> {
  const host = '127.0.0.1';
  server.listen(port, host);
  await Promise.race([once(server, 'listening'), once(server, 'error').then(([err]) => Promise.reject(err as Error))]);
  const bound = (server.address() as AddressInfo).port;
  let closed: Promise<void> | undefined;
  return {
    url: `http://${host}:${bound}`,
    port: bound,
    close: () =>
      (closed ??= new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      })),
  };
}

export class BodyTooLarge extends Error {
  constructor() {
    super('request body too large');
  }
}

/** The request body as text; throws BodyTooLarge past `maxBytes`. */
export async function readBody(request: IncomingMessage, maxBytes: number): Promise<string> {
  const chunks: Buffer[] = [];
  let length = 0;
  for await (const chunk of request as AsyncIterable<Buffer>) {
    length += chunk.length;
    if (length > maxBytes) throw new BodyTooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks).toString('utf8');
}
