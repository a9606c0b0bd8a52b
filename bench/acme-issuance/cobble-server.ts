// Runs cobble in its own process for the benchmark (as Pebble runs in its own), so the driver's CPU work does not share
// the CA's event loop. Prints one JSON line with the directory URL and trust bundle, then serves until SIGTERM.
import { startCa, type CaConfigInput } from '@cobble/ca';

const config = JSON.parse(process.argv[2] ?? '{}') as CaConfigInput;
const ca = await startCa(config);
process.stdout.write(`${JSON.stringify({ directoryUrl: ca.directoryUrl, trustBundlePath: ca.trustBundlePath })}\n`);
process.once('SIGTERM', () => {
  void ca.close().finally(() => process.exit(0));
});
