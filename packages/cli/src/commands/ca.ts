// Placeholder until the ca command lands.
import { CliError } from '../errors.js';

export const summary = '(ca: not yet available)';

export async function run(_args: string[]): Promise<number> {
  throw new CliError('ca is not implemented yet');
}
