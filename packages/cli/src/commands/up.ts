// Placeholder until the up command lands.
import { CliError } from '../errors.js';

export const summary = '(up: not yet available)';

export async function run(_args: string[]): Promise<number> {
  throw new CliError('up is not implemented yet');
}
