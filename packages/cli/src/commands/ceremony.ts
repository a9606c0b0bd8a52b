// Placeholder until the ceremony command lands.
import { CliError } from '../errors.js';

export const summary = '(ceremony: not yet available)';

export async function run(_args: string[]): Promise<number> {
  throw new CliError('ceremony is not implemented yet');
}
