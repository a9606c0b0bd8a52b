// A loopback HTTP endpoint in the shape of lego's `httpreq` DNS provider (default mode): POST /present and /cleanup
// with {"fqdn": "_acme-challenge.example.com.", "value": "..."}. With it, lego publishes dns-01 TXT records in test
// mode's DNS server without a hook script.
import { createServer, type IncomingMessage } from 'node:http';
import { listenOnLoopback, readBody, type LoopbackServer } from './listen.js';
import type { TestDnsRecords } from './records.js';

/** A TXT request is a few hundred bytes; more is not lego. */
const MAX_BODY = 16 * 1024;

/** `url` is what lego's HTTPREQ_ENDPOINT takes. */
export type HttpreqEndpoint = LoopbackServer;

async function readJson(request: IncomingMessage): Promise<unknown> {
  return JSON.parse(await readBody(request, MAX_BODY));
}

function txtRequest(body: unknown): { fqdn: string; value: string } | undefined {
  if (typeof body !== 'object' || body === null) return undefined;
  const { fqdn, value } = body as Record<string, unknown>;
  return typeof fqdn === 'string' && fqdn.length > 0 && typeof value === 'string' ? { fqdn, value } : undefined;
}

export async function startHttpreqEndpoint(records: TestDnsRecords, port = 0): Promise<HttpreqEndpoint> {
  const server = createServer((request, response) => {
    const reply = (status: number, text: string) => response.writeHead(status, { 'Content-Type': 'text/plain' }).end(`${text}\n`);
    const action = request.url === '/present' ? 'present' : request.url === '/cleanup' ? 'cleanup' : undefined;
    if (!action) return reply(404, 'not found: POST /present or /cleanup');
    if (request.method !== 'POST') return reply(405, 'use POST');
    readJson(request).then(
      (body) => {
        const txt = txtRequest(body);
        if (!txt) return reply(400, 'expected JSON {"fqdn": "...", "value": "..."}');
        if (action === 'present') records.addTxt(txt.fqdn, txt.value);
        else records.removeTxt(txt.fqdn, txt.value);
        reply(200, 'ok');
      },
      (err: Error) => reply(400, `bad request: ${err.message}`),
    );
  });
  return listenOnLoopback(server, port);
}
