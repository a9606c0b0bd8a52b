// `cobble ca admin …`: the operator's tools on the CA's database (see docs/operations.md, "Incident response").
import { readFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  AdminError,
  CA_REVOCATION_REASONS,
  ConfigError,
  normalizeSerial,
  openCaAdmin,
  parseCaConfig,
  readCaConfigFile,
  signAllCrls,
  spkiSha256OfPem,
  systemClock,
  type CaAdmin,
  type CaConfig,
  type IncidentSelection,
  type Progress,
  type RevokeOutcome,
} from '@cobble/ca';
import { CliError } from '../errors.js';

const reasons = Object.keys(CA_REVOCATION_REASONS).join(', ');

export const usage = `usage: cobble ca admin [--config FILE] <command> [options]

Acts on the CA's database (database.url, or ca.sqlite3 in dataDir, of the config; default ./data). Times are RFC 3339
(2026-12-04T18:00:00Z) or a duration from now (48h, 5d). Reasons: ${reasons} (default unspecified).
--batch N sets the certificates per database transaction (default 500). A bar shows progress when stderr is a terminal.

  revoke (--serial HEX ... | --serials-file FILE | --account ID | --name NAME) [--reason R] [--dry-run]
      revoke by serial (hex, colons allowed), a file of serials (one a line, # comments), every certificate of an
      account, or of a name (exact, or * patterns: '*.example.com')
  block-key (--spki-sha256 HEX | --pem FILE) [--comment TEXT]
      refuse a key (hex SHA-256 of its SubjectPublicKeyInfo, or a PEM public key/certificate) in accounts and CSRs
  pause ACCOUNT_ID [--comment TEXT] | unpause ACCOUNT_ID
      a paused account gets "unauthorized" on new orders
  incident create NAME --deadline T [--issued-after T] [--issued-before T] [--profile P] [--issuer NAME]
                  [--serials-file FILE] [--name-pattern P] [--reason R] [--explanation-url URL] [--dry-run]
      select certificates (every option given must match), store them with the incident; ARI tells their clients
      to renew now. Interrupted, run it again with the same options: it resumes.
  incident status NAME | incident list
      how many were selected, replaced (by an order with "replaces" or a newer certificate for the same names),
      and revoked
  incident deadline NAME T
  incident revoke NAME [--dry-run] [--force]
      after the deadline (or with --force), revoke every selected certificate not yet revoked, with the incident's
      reason; interrupted (even by SIGKILL), run it again: it carries on, revoking each certificate once`;

const options = {
  config: { type: 'string', short: 'c' },
  serial: { type: 'string', multiple: true },
  'serials-file': { type: 'string' },
  account: { type: 'string' },
  name: { type: 'string' },
  reason: { type: 'string' },
  'dry-run': { type: 'boolean' },
  'spki-sha256': { type: 'string' },
  pem: { type: 'string' },
  comment: { type: 'string' },
  deadline: { type: 'string' },
  'issued-after': { type: 'string' },
  'issued-before': { type: 'string' },
  profile: { type: 'string' },
  issuer: { type: 'string' },
  'name-pattern': { type: 'string' },
  'explanation-url': { type: 'string' },
  force: { type: 'boolean' },
  batch: { type: 'string' },
  help: { type: 'boolean', short: 'h' },
} as const;

type Values = ReturnType<typeof parseArgs<{ options: typeof options; allowPositionals: true }>>['values'];

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

function parseTime(flag: string, value: string, now: number): number {
  const relative = /^(\d+)([smhd])$/.exec(value);
  if (relative) return now + Number(relative[1]) * UNIT_MS[relative[2]!]!;
  const ms = Date.parse(value);
  if (!/^\d{4}-\d{2}-\d{2}/.test(value) || Number.isNaN(ms)) {
    throw new CliError(`--${flag}: expected an RFC 3339 time (2026-12-04T18:00:00Z) or a duration from now (48h, 5d), got ${JSON.stringify(value)}`, 2);
  }
  return ms;
}

function parseReason(value: string | undefined): number {
  if (value === undefined) return 0;
  const code = CA_REVOCATION_REASONS[value] ?? (/^\d+$/.test(value) && Object.values(CA_REVOCATION_REASONS).includes(Number(value)) ? Number(value) : undefined);
  if (code === undefined) throw new CliError(`--reason: ${JSON.stringify(value)} is not one of ${reasons} (or their RFC 5280 codes)`, 2);
  return code;
}

async function readSerialsFile(path: string): Promise<string[]> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new CliError(`--serials-file ${path}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}; give the path of a file with one serial a line`);
  }
  const serials: string[] = [];
  for (const [index, raw] of text.split('\n').entries()) {
    const line = raw.replace(/#.*/, '').trim();
    if (!line) continue;
    const serial = normalizeSerial(line);
    if (!serial) throw new CliError(`${path}:${index + 1}: ${JSON.stringify(line)} is not a hexadecimal serial number; fix or remove that line`);
    serials.push(serial);
  }
  return serials;
}

/** A one-line bar on stderr when it is a terminal, redrawn at most ten times a second; nothing otherwise. */
function progressBar(): { update(p: Progress): void; done(): void } {
  if (!process.stderr.isTTY) return { update: () => {}, done: () => {} };
  let last = 0;
  let drawn = false;
  return {
    update(p) {
      const now = Date.now();
      if (now - last < 100 && p.done !== p.total) return;
      last = now;
      drawn = true;
      const count = p.done.toLocaleString('en');
      if (p.total === undefined || p.total === 0) {
        process.stderr.write(`\r${p.phase}: ${count}\u001b[K`);
        return;
      }
      const width = 30;
      const filled = Math.round((Math.min(p.done, p.total) / p.total) * width);
      process.stderr.write(`\r${p.phase} [${'#'.repeat(filled)}${' '.repeat(width - filled)}] ${count}/${p.total.toLocaleString('en')}\u001b[K`);
    },
    done() {
      if (drawn) process.stderr.write('\n');
      drawn = false;
    },
  };
}

function printRevoke(outcome: RevokeOutcome, dryRun: boolean): void {
  if (dryRun) console.log(`dry run: ${outcome.matched} certificate(s) match, ${outcome.alreadyRevoked} of them already revoked; nothing was revoked`);
  else console.log(`revoked ${outcome.revoked} certificate(s); ${outcome.alreadyRevoked} already revoked`);
  if (outcome.unknown.length) console.log(`not issued by this CA: ${outcome.unknown.join(', ')}`);
}

function one<T>(what: string, choices: Array<[string, T | undefined]>): [string, T] {
  const given = choices.filter(([, v]) => v !== undefined) as Array<[string, T]>;
  if (given.length !== 1) throw new CliError(`${what} needs exactly one of ${choices.map(([flag]) => `--${flag}`).join(', ')}`, 2);
  return given[0]!;
}

async function loadConfig(path: string | undefined): Promise<CaConfig> {
  try {
    return path ? (await readCaConfigFile(path)).config : parseCaConfig({}, 'defaults');
  } catch (err) {
    if (err instanceof ConfigError) throw new CliError(err.message);
    throw err;
  }
}

async function dispatch(admin: CaAdmin, positionals: string[], values: Values): Promise<number> {
  const [command, ...args] = positionals;
  const now = Date.now();
  const dryRun = values['dry-run'] === true;
  const arg = (index: number, what: string) => {
    const value = args[index];
    if (!value) throw new CliError(`${positionals.slice(0, index + 1).join(' ')}: missing ${what}\n\n${usage}`, 2);
    return value;
  };
  switch (command) {
    case 'revoke': {
      const reason = parseReason(values.reason);
      const [flag, value] = one<string | string[]>('revoke', [['serial', values.serial], ['serials-file', values['serials-file']], ['account', values.account], ['name', values.name]]);
      let outcome: RevokeOutcome;
      if (flag === 'serial' || flag === 'serials-file') {
        const serials = flag === 'serial'
          ? (value as string[]).map((s) => normalizeSerial(s) ?? (() => { throw new CliError(`--serial: ${JSON.stringify(s)} is not a hexadecimal serial number`, 2); })())
          : await readSerialsFile(value as string);
        outcome = await admin.revokeSerials(serials, reason, dryRun);
      } else if (flag === 'account') {
        outcome = await admin.revokeAccount(value as string, reason, dryRun);
      } else {
        outcome = await admin.revokeName((value as string).toLowerCase(), reason, dryRun);
      }
      printRevoke(outcome, dryRun);
      return 0;
    }
    case 'block-key': {
      const [flag, value] = one<string>('block-key', [['spki-sha256', values['spki-sha256']], ['pem', values.pem]]);
      let hash: string;
      if (flag === 'pem') {
        try {
          hash = spkiSha256OfPem(await readFile(value, 'utf8'));
        } catch (err) {
          throw new CliError(`--pem ${value}: ${(err as Error).message}; give a PEM public key, certificate or private key`);
        }
      } else {
        hash = value.toLowerCase().replace(/:/g, '');
        if (!/^[0-9a-f]{64}$/.test(hash)) throw new CliError('--spki-sha256: expected 64 hexadecimal digits (SHA-256 of the DER SubjectPublicKeyInfo)', 2);
      }
      const { alreadyBlocked } = await admin.blockKey(hash, values.comment);
      console.log(alreadyBlocked ? `key ${hash} was already blocked` : `blocked key ${hash}`);
      return 0;
    }
    case 'pause':
    case 'unpause': {
      const account = arg(0, 'ACCOUNT_ID');
      const { changed } = command === 'pause' ? await admin.pause(account, values.comment) : await admin.unpause(account);
      console.log(`account ${account} ${changed ? (command === 'pause' ? 'paused' : 'unpaused') : `was already ${command === 'pause' ? 'paused' : 'not paused'}`}`);
      return 0;
    }
    case 'incident':
      return incident(admin, args, values, now, dryRun);
    default:
      throw new CliError(`unknown admin command ${JSON.stringify(command ?? '')}\n\n${usage}`, 2);
  }
}

async function incident(admin: CaAdmin, args: string[], values: Values, now: number, dryRun: boolean): Promise<number> {
  const [sub, name, extra] = args;
  if (sub !== 'list' && !name) throw new CliError(`incident ${sub ?? ''}: missing NAME\n\n${usage}`, 2);
  const describe = (p: { selected: number; replaced: number; revoked: number; processed: number }) =>
    `${p.selected} selected, ${p.replaced} replaced (${p.selected ? ((100 * p.replaced) / p.selected).toFixed(1) : '0.0'}%), ${p.revoked} revoked`;
  switch (sub) {
    case 'create': {
      if (!values.deadline) throw new CliError('incident create: --deadline is required (when to revoke what is left, e.g. 48h or 2026-12-06T18:00:00Z)', 2);
      const deadline = parseTime('deadline', values.deadline, now);
      const selection: IncidentSelection = {};
      if (values['issued-after']) selection.issuedAfter = parseTime('issued-after', values['issued-after'], now);
      if (values['issued-before']) selection.issuedBefore = parseTime('issued-before', values['issued-before'], now);
      if (values.profile) selection.profile = values.profile;
      if (values.issuer) selection.issuer = values.issuer;
      if (values['name-pattern']) selection.namePattern = values['name-pattern'];
      if (values['serials-file']) selection.serials = await readSerialsFile(values['serials-file']);
      if (Object.keys(selection).length === 0) {
        throw new CliError('incident create: give at least one of --issued-after, --issued-before, --profile, --issuer, --serials-file, --name-pattern (selecting every certificate is not an incident)', 2);
      }
      if (values['explanation-url'] && !/^https?:\/\//.test(values['explanation-url'])) throw new CliError('--explanation-url: expected an http(s) URL', 2);
      const result = await admin.createIncident(
        { name: name!, selection, deadline, reason: parseReason(values.reason), explanationUrl: values['explanation-url'] },
        dryRun,
      );
      if (dryRun) console.log(`dry run: ${result.selected} certificate(s) match; no incident was stored`);
      else console.log(`incident ${name}${result.resumed ? ' (selection resumed)' : ''}: ${result.selected} certificate(s) selected; ARI now tells their clients to renew; deadline ${new Date(result.incident!.deadline).toISOString()}`);
      return 0;
    }
    case 'status': {
      const { incident: found, progress } = await admin.incidentStatus(name!);
      console.log(`incident ${found.name} (${found.state}), deadline ${new Date(found.deadline).toISOString()}: ${describe(progress)}`);
      return 0;
    }
    case 'list': {
      for (const found of await admin.listIncidents()) console.log(`${found.name}\t${found.state}\tdeadline ${new Date(found.deadline).toISOString()}`);
      return 0;
    }
    case 'deadline': {
      if (!extra) throw new CliError('incident deadline: missing the new deadline T', 2);
      const updated = await admin.setDeadline(name!, parseTime('deadline', extra, now));
      console.log(`incident ${updated.name}: deadline ${new Date(updated.deadline).toISOString()}`);
      return 0;
    }
    case 'revoke': {
      const result = await admin.revokeIncident(name!, { dryRun, force: values.force === true });
      if (dryRun) console.log(`dry run: ${result.handled} certificate(s) left to revoke; nothing was revoked`);
      else console.log(`incident ${name}: revoked ${result.revoked} certificate(s) in this run; now ${describe(result.progress)}`);
      return 0;
    }
    default:
      throw new CliError(`unknown incident command ${JSON.stringify(sub ?? '')}\n\n${usage}`, 2);
  }
}

export async function runAdmin(argv: string[]): Promise<number> {
  let parsed: { values: Values; positionals: string[] };
  try {
    parsed = parseArgs({ args: argv, options, allowPositionals: true, strict: true });
  } catch (err) {
    throw new CliError(`${(err as Error).message}\n\n${usage}`, 2);
  }
  const { values, positionals } = parsed;
  if (values.help || positionals.length === 0) {
    console.log(usage);
    return values.help ? 0 : 2;
  }
  const batchSize = values.batch === undefined ? undefined : Number(values.batch);
  if (batchSize !== undefined && (!Number.isInteger(batchSize) || batchSize < 1 || batchSize > 5000)) {
    throw new CliError(`--batch: expected a whole number from 1 to 5000, got ${JSON.stringify(values.batch)}`, 2);
  }
  const config = await loadConfig(values.config);
  const bar = progressBar();
  let admin: CaAdmin;
  // After revocations: every CRL shard signed again by this process, with the CA's issuers and CRL numbers.
  const afterRevocation = async () => {
    bar.done();
    const outcome = await signAllCrls(config, admin.sa, systemClock);
    console.log('signed' in outcome ? `signed ${outcome.signed} CRL shard(s)` : `CRLs not signed: ${outcome.skipped}`);
  };
  try {
    admin = await openCaAdmin(config, { source: values.config, batchSize, onProgress: (p) => bar.update(p), afterRevocation });
  } catch (err) {
    if (err instanceof AdminError) throw new CliError(err.message);
    throw err;
  }
  try {
    return await dispatch(admin, positionals, values);
  } catch (err) {
    // The admin library's refusals (unknown incident, deadline not reached) are the operator's to fix.
    if (err instanceof AdminError) throw new CliError(err.message);
    throw err;
  } finally {
    bar.done();
    await admin.sa.close();
  }
}
