// `npx cobble ...` and `npm start` run the bin as npm -> `sh -c` -> node. npm passes SIGINT/SIGTERM to the shell,
// which dies without passing them on, so `kill <npx pid>` left node serving with a new parent (init or a subreaper).
// Node has no event for the death of a parent (no PR_SET_PDEATHSIG), so the parent PID is polled on an unref'd timer.

const POLL_MS = 250;

/** Once this process's parent changes from `parent`, sends SIGTERM to this process: the commands stop as on `kill`. */
export function stopWhenOrphaned(parent: number): void {
  const timer = setInterval(() => {
    if (process.ppid === parent) return;
    clearInterval(timer);
    process.kill(process.pid, 'SIGTERM');
  }, POLL_MS);
  timer.unref();
}
