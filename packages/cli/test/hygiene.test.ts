// Process hygiene of the `cobble` command, as real process trees: stopping `npx cobble ca serve` by the npx PID stops
// the server (npm hands the signal to `sh -c`, which does not pass it on), and a second server on taken ports says
// which port and which config key to change.
import { after, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort } from '@cobble/ca';

const root = fileURLToPath(new URL('../../..', import.meta.url));
const bin = fileURLToPath(new URL('../bin/cobble.js', import.meta.url));

// Each child leads its own process group, so `after` can SIGKILL whatever it left, orphans included.
const groups: number[] = [];
const dirs: string[] = [];
after(() => {
  for (const pgid of groups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // The group is already gone.
    }
  }
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});


/** Whether something accepts TCP connections on 127.0.0.1:port. */
function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    socket.once('connect', () => (socket.destroy(), resolve(true)));
    socket.once('error', () => resolve(false));
  });
}

/** PIDs of the processes (other than this one) whose command line mentions `text`, read from /proc. */
function processesMentioning(text: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    const pid = Number(entry);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(text)) pids.push(pid);
    } catch {
      // Exited while we looked.
    }
  }
  return pids;
}

async function eventually(check: () => Promise<boolean>, what: string, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!(await check())) {
    if (Date.now() > deadline) assert.fail(`not within ${ms / 1000} s: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

function caConfig(name: string, port: number, httpPort: number): { dir: string; file: string } {
  const dir = mkdtempSync(join(tmpdir(), `cobble-hygiene-${name}-`));
  dirs.push(dir);
  const file = join(dir, 'ca.yaml');
  writeFileSync(file, `dataDir: ${join(dir, 'data')}\nlisten: { host: 127.0.0.1, port: ${port}, httpPort: ${httpPort} }\nlog: { level: error }\n`);
  return { dir, file };
}

interface Run {
  child: ChildProcess;
  output: () => string;
  /** Resolves with the exit code once the process exited and every holder of its stdout/stderr (grandchildren too) did. */
  closed: Promise<number | null>;
}

function launch(command: string, args: string[]): Run {
  const child = spawn(command, args, { cwd: root, stdio: ['ignore', 'pipe', 'pipe'], detached: true });
  groups.push(child.pid!);
  let out = '';
  child.stdout!.setEncoding('utf8').on('data', (c: string) => (out += c));
  child.stderr!.setEncoding('utf8').on('data', (c: string) => (out += c));
  const closed = new Promise<number | null>((resolve) => child.once('close', (code) => resolve(code)));
  return { child, output: () => out, closed };
}

async function directoryUrlOf(run: Run): Promise<string> {
  let exited = false;
  void run.closed.then(() => (exited = true));
  let url: string | undefined;
  await eventually(async () => {
    url = /ACME directory: (\S+)/.exec(run.output())?.[1];
    if (!url && exited) assert.fail(`exited before it was ready:\n${run.output()}`);
    return url !== undefined;
  }, `the CA printed its directory URL:\n${run.output()}`, 120_000);
  return url!;
}

/** The exit code, or a note that the process still runs after `ms` (a hang is a failure, not a test timeout). */
async function exitCodeWithin(run: Run, ms: number): Promise<number | null | string> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<string>((resolve) => (timer = setTimeout(resolve, ms, `still running after ${ms / 1000} s`)));
  try {
    return await Promise.race([run.closed, late]);
  } finally {
    clearTimeout(timer);
  }
}

// How each signal reaches npx: SIGTERM as `kill -TERM <npx pid>` does; SIGINT as Ctrl-C does, to the whole process group.
// (`kill -INT <npx pid>` alone stops nothing: npm hands it to `sh -c`, and sh waits for node before acting on SIGINT,
// so nothing in the tree changes that node could notice.)
const stops = [
  { signal: 'SIGTERM', how: 'to the PID of', send: (pid: number) => process.kill(pid, 'SIGTERM') },
  { signal: 'SIGINT', how: 'to the process group of', send: (pid: number) => process.kill(-pid, 'SIGINT') },
] as const;

for (const { signal, how, send } of stops) {
  test(`${signal} ${how} \`npx cobble ca serve\` stops the server: its ports are free and no process of it is left`, async () => {
    const [port, httpPort] = [await freePort(), await freePort()];
    const { dir, file } = caConfig(signal.toLowerCase(), port, httpPort);
    const run = launch('npx', ['cobble', 'ca', 'serve', '--config', file]);
    const directoryUrl = await directoryUrlOf(run);
    assert.equal(directoryUrl, `https://127.0.0.1:${port}/directory`);
    assert.ok(await listening(port), 'the ACME port listens');
    assert.ok(await listening(httpPort), 'the AIA/CRL port listens');
    // npx is not the server: the node process serving is a grandchild (npm -> sh -c -> node).
    assert.ok(processesMentioning(dir).some((pid) => pid !== run.child.pid), 'a process other than npx serves');

    send(run.child.pid!);
    await eventually(async () => !(await listening(port)) && !(await listening(httpPort)), `ports ${port} and ${httpPort} are free`);
    await eventually(async () => processesMentioning(dir).length === 0, `no process mentions ${dir} (left: ${processesMentioning(dir).join(', ')})`);
    // Closed pipes: every process that inherited npx's stdout/stderr has exited.
    await run.closed;
    assert.doesNotMatch(run.output(), /Error|at .*\.ts:\d+/, 'the server stopped without an error');
  });
}

test('a second `cobble ca serve` on a taken port exits 1 naming that port, its config key and the config file', async () => {
  const [port, httpPort] = [await freePort(), await freePort()];
  const first = launch(process.execPath, [bin, 'ca', 'serve', '--config', caConfig('first', port, httpPort).file]);
  await directoryUrlOf(first);

  // The ACME port taken (the AIA port free), then the AIA port taken (the ACME port free): each message names its own.
  const cases = [
    { name: 'acme', port, httpPort: 0, failed: port, key: 'listen.port' },
    { name: 'aia', port: 0, httpPort, failed: httpPort, key: 'listen.httpPort' },
  ];
  for (const c of cases) {
    const { file } = caConfig(`second-${c.name}`, c.port, c.httpPort);
    const second = launch(process.execPath, [bin, 'ca', 'serve', '--config', file]);
    const code = await exitCodeWithin(second, 60_000);
    assert.equal(code, 1, second.output());
    const message = second.output();
    assert.match(message, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${c.failed}: the port is taken`));
    assert.ok(message.includes(`set ${c.key} to another port`), message);
    assert.ok(message.includes(file), message);
    assert.doesNotMatch(message, /\bor :\d+/, 'names one port, not a choice of two');
  }

  // The first server was not disturbed.
  assert.ok(await listening(port));
  first.child.kill('SIGTERM');
  assert.equal(await first.closed, 0, first.output());
});

test('`cobble up` on a taken port exits 1 naming that port and --any-ports', async (t) => {
  // `cobble up` listens on documented fixed ports; holding its first one (test mode's DNS, 8053) makes it fail before
  // it listens anywhere. If another process already holds 8053, that one makes it fail just the same.
  let holder: Server | undefined = createServer();
  await new Promise<void>((resolve) => {
    holder!.once('error', () => ((holder = undefined), resolve()));
    holder!.listen(8053, '127.0.0.1', resolve);
  });
  t.after(() => holder?.close());
  const dir = mkdtempSync(join(tmpdir(), 'cobble-hygiene-up-'));
  dirs.push(dir);
  const up = launch(process.execPath, [bin, 'up', '--data-dir', dir]);
  const code = await exitCodeWithin(up, 60_000);
  assert.equal(code, 1, up.output());
  const failed = Number(/cannot listen on 127\.0\.0\.1:(\d+): the port is taken/.exec(up.output())?.[1]);
  assert.ok(failed, up.output());
  assert.match(up.output(), /`cobble up --any-ports`/);
  // The port named is one that is really taken.
  const taken = await new Promise<boolean>((resolve) => {
    const probe = createServer().once('error', () => resolve(true));
    probe.listen(failed, '127.0.0.1', () => probe.close(() => resolve(false)));
  });
  assert.ok(taken, `port ${failed} named in "${up.output()}" is free`);
});
