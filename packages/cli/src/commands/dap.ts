// Placeholder until the dap command lands.
import { CliError } from '../errors.js';

export const summary = '(dap: not yet available)';

export async function run(_args: string[]): Promise<number> {
  throw new CliError('dap is not implemented yet');
}
