// Child processes the tests start in their own process groups (`spawn(..., { detached: true })`).
import type { ChildProcess } from 'node:child_process';
import { once } from 'node:events';

/** SIGKILLs what is left of each child's process group (workers included) and waits for the children to exit. */
export async function killAll(started: ChildProcess[]): Promise<void> {
  for (const child of started) {
    const running = child.exitCode === null && child.signalCode === null;
    try {
      process.kill(-child.pid!, 'SIGKILL');
    } catch {
      // the group is already gone
    }
    if (running) await once(child, 'exit');
  }
}
