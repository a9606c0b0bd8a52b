// Test mode's DNS server on loopback (UDP and TCP on one port): every name exists and is this machine (A 127.0.0.1,
// AAAA ::1) unless the record store overrides its addresses, so any name an ACME client asks for is served by that client on this host; TXT and CAA come from the
// record store. Never NXDOMAIN; other types get NODATA. TTL 0, so no resolver keeps an answer a test has changed.
import { createSocket, type Socket } from 'node:dgram';
import { once } from 'node:events';
import { createServer, type Server, type Socket as TcpSocket } from 'node:net';
import dnsPacket, { type Answer, type CaaData, type DecodedPacket, type Packet } from 'dns-packet';
import type { TestDnsRecords } from './records.js';

const HOST = '127.0.0.1';
/** RFC 1035 §4.2.1: a UDP answer longer than this is truncated, and the resolver asks again over TCP. */
const UDP_LIMIT = 512;

export interface TestDnsServer {
  port: number;
  /** "127.0.0.1:port", as `va.dnsServer` and lego's `--dns.resolvers` take it. */
  address: string;
  close(): Promise<void>;
}

/** A TXT string is at most 255 bytes (RFC 1035 §3.3.14): longer values go out as several strings of one record. */
function txtStrings(value: string): Buffer[] {
  const bytes = Buffer.from(value, 'utf8');
  const chunks: Buffer[] = [];
  for (let at = 0; at < bytes.length; at += 255) chunks.push(bytes.subarray(at, at + 255));
  return chunks.length > 0 ? chunks : [Buffer.alloc(0)];
}

function answersFor(records: TestDnsRecords, question: { name: string; type: string; class?: string }): Answer[] {
  if (question.class !== undefined && question.class !== 'IN') return [];
  const { name } = question;
  switch (question.type) {
    case 'A':
      return (records.addresses(4, name) ?? ['127.0.0.1']).map((data) => ({ name, type: 'A', ttl: 0, data }));
    case 'AAAA':
      return (records.addresses(6, name) ?? ['::1']).map((data) => ({ name, type: 'AAAA', ttl: 0, data }));
    case 'TXT':
      return records.txt(name).map((value) => ({ name, type: 'TXT', ttl: 0, data: txtStrings(value) }));
    case 'CAA':
      // The store allows any tag; dns-packet's type lists only the three RFC 8659 defines.
      return records.caa(name).map((r) => ({ name, type: 'CAA', ttl: 0, data: { flags: r.flags, tag: r.tag, value: r.value } as CaaData }));
    default:
      return [];
  }
}

function respond(records: TestDnsRecords, query: DecodedPacket, udp: boolean): Buffer {
  const questions = query.questions ?? [];
  const flags = dnsPacket.AUTHORITATIVE_ANSWER | dnsPacket.RECURSION_AVAILABLE | ((query.flags ?? 0) & dnsPacket.RECURSION_DESIRED);
  const response: Packet = {
    id: query.id,
    type: 'response',
    flags,
    questions,
    answers: questions.flatMap((q) => answersFor(records, q)),
  };
  const encoded = dnsPacket.encode(response);
  if (!udp || encoded.length <= UDP_LIMIT) return encoded;
  return dnsPacket.encode({ ...response, flags: flags | dnsPacket.TRUNCATED_RESPONSE, answers: [] });
}

function decode(message: Buffer): DecodedPacket | undefined {
  try {
    const packet = dnsPacket.decode(message);
    return packet.type === 'query' ? packet : undefined;
  } catch {
    return undefined;
  }
}

/** DNS over TCP: each message carries a two-byte length prefix (RFC 1035 §4.2.2), possibly split across reads. */
function serveTcp(records: TestDnsRecords, socket: TcpSocket): void {
  let pending = Buffer.alloc(0);
  socket.on('error', () => socket.destroy());
  socket.on('data', (chunk: Buffer) => {
    pending = Buffer.concat([pending, chunk]);
    while (pending.length >= 2 && pending.length >= 2 + pending.readUInt16BE(0)) {
      const length = pending.readUInt16BE(0);
      const query = decode(pending.subarray(2, 2 + length));
      pending = pending.subarray(2 + length);
      if (!query) {
        socket.destroy();
        return;
      }
      const answer = respond(records, query, false);
      const prefix = Buffer.alloc(2);
      prefix.writeUInt16BE(answer.length);
      socket.write(Buffer.concat([prefix, answer]));
    }
  });
}

async function listen(records: TestDnsRecords, port: number): Promise<{ udp: Socket; tcp: Server; port: number }> {
  const tcp = createServer((socket) => serveTcp(records, socket));
  tcp.listen(port, HOST);
  await Promise.race([once(tcp, 'listening'), once(tcp, 'error').then(([err]) => Promise.reject(err as Error))]);
  const bound = (tcp.address() as { port: number }).port;
  const udp = createSocket('udp4');
  udp.on('message', (message, peer) => {
    const query = decode(message);
    if (query) udp.send(respond(records, query, true), peer.port, peer.address);
  });
  try {
    await new Promise<void>((resolve, reject) => {
      udp.once('error', reject);
      udp.bind(bound, HOST, () => {
        udp.removeListener('error', reject);
        resolve();
      });
    });
  } catch (err) {
    tcp.close();
    throw err;
  }
  // A reply to a peer that went away must not end the process.
  udp.on('error', () => {});
  return { udp, tcp, port: bound };
}

/** Starts the DNS server on 127.0.0.1:`port` (0: a port free for both UDP and TCP). */
export async function startTestDnsServer(records: TestDnsRecords, port = 0): Promise<TestDnsServer> {
  let bound: Awaited<ReturnType<typeof listen>> | undefined;
  // With port 0 the free TCP port may be taken for UDP: try another.
  for (let attempt = 0; !bound; attempt++) {
    try {
      bound = await listen(records, port);
    } catch (err) {
      if (port !== 0 || attempt >= 20 || (err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
    }
  }
  const { udp, tcp } = bound;
  const connections = new Set<TcpSocket>();
  tcp.on('connection', (socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
  });
  let closed: Promise<void> | undefined;
  return {
    port: bound.port,
    address: `${HOST}:${bound.port}`,
    close: () =>
      (closed ??= (async () => {
        for (const socket of connections) socket.destroy();
        await Promise.all([new Promise<void>((resolve) => tcp.close(() => resolve())), new Promise<void>((resolve) => udp.close(resolve))]);
      })()),
  };
}
