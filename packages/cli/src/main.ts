// Entry point of the `cobble` command: dispatches to one module per system. Each command module exports
// `run(args): Promise<number>` (the exit code) and a one-line `summary` for the help text.
import { CliError } from './errors.js';

interface CommandModule {
  summary: string;
  run(args: string[]): Promise<number>;
}

const commands: Record<string, () => Promise<CommandModule>> = {
  up: () => import('./commands/up.js'),
  ca: () => import('./commands/ca.js'),
  ceremony: () => import('./commands/ceremony.js'),
  dap: () => import('./commands/dap.js'),
};

async function help(): Promise<string> {
  const lines = ['usage: cobble <command> [options]', '', 'commands:'];
  for (const [name, load] of Object.entries(commands)) {
    lines.push(`  ${name.padEnd(10)} ${(await load()).summary}`);
  }
  return lines.join('\n');
}

export async function main(argv: string[]): Promise<number> {
  const [name, ...rest] = argv;
  if (!name || name === '--help' || name === '-h' || name === 'help') {
    console.log(await help());
    return name ? 0 : 2;
  }
  const load = commands[name];
  if (!load) {
    console.error(`cobble: unknown command '${name}'\n\n${await help()}`);
    return 2;
  }
  try {
    return await (await load()).run(rest);
  } catch (err) {
    if (err instanceof CliError) {
      console.error(`cobble ${name}: ${err.message}`);
      return err.exitCode;
    }
    throw err;
  }
}
