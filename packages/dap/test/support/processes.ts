// `cobble dap serve` as a real process, for the crash test and the DAP benchmark.
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';

export const cobbleBin = fileURLToPath(new URL('../../../cli/bin/cobble.js', import.meta.url));

/** A loopback port that was free a moment ago (config files need the number before the server starts). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer().listen(0, '127.0.0.1', () => {
      const { port } = server.address() as { port: number };
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

/** Starts `cobble dap serve --config FILE` and resolves once it prints that it is listening. */
export function serveDap(config: string, options: { execArgv?: string[]; timeoutMs?: number } = {}): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.execArgv ?? []), cobbleBin, 'dap', 'serve', '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`cobble dap serve did not start within ${options.timeoutMs ?? 30_000} ms: ${out}`)), options.timeoutMs ?? 30_000);
    child.stdout!.on('data', (d) => {
      out += d;
      if (out.includes('listening on')) {
        clearTimeout(timer);
        resolve(child);
      }
    });
    child.stderr!.on('data', (d) => (out += d));
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`cobble dap serve exited with ${code}: ${out}`));
    });
  });
}

/** Starts `cobble dap run KIND --config FILE` and resolves once it says it runs (or listens). */
export function runDapDriver(kind: string, config: string, options: { execArgv?: string[]; timeoutMs?: number } = {}): Promise<ChildProcess> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...(options.execArgv ?? []), cobbleBin, 'dap', 'run', kind, '--config', config], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    const timer = setTimeout(() => reject(new Error(`cobble dap run ${kind} did not start within ${options.timeoutMs ?? 30_000} ms: ${out}`)), options.timeoutMs ?? 30_000);
    const onExit = (code: number | null) => {
      clearTimeout(timer);
      reject(new Error(`cobble dap run ${kind} exited with ${code}: ${out}`));
    };
    child.stdout!.on('data', (d) => {
      out += d;
      if (/ running$| listening on /m.test(out)) {
        clearTimeout(timer);
        child.off('exit', onExit);
        resolve(child);
      }
    });
    child.stderr!.on('data', (d) => (out += d));
    child.on('exit', onExit);
  });
}
