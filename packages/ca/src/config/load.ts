// Loading any of cobble's YAML configurations (the CA's, a remote perspective's) against a strict zod schema, with
// errors that name the file, the full key path and what was expected, or for an unknown key which keys are allowed.
import { readFile } from 'node:fs/promises';
import { parseDocument } from 'yaml';
import type { z } from 'zod';
import { ConfigError } from './errors.js';

function unwrap(schema: unknown): any {
  let current: any = schema;
  while (current?._zod?.def?.innerType) current = current._zod.def.innerType;
  return current;
}

/** The keys allowed at a path of `schema` (through objects, arrays and records). */
function allowedKeysAt(schema: z.ZodType, path: PropertyKey[]): string[] {
  let current = unwrap(schema);
  for (const segment of path) {
    const def = current?._zod?.def;
    if (def?.type === 'array') current = unwrap(def.element);
    else if (def?.type === 'record') current = unwrap(def.valueType);
    else if (def?.shape && String(segment) in def.shape) current = unwrap(def.shape[String(segment)]);
    else return [];
  }
  const shape = current?._zod?.def?.shape;
  return shape ? Object.keys(shape) : [];
}

/**
 * Validates input against `schema`; errors name `source`, the full key path (under `prefix`, e.g. "va.perspectives"
 * when the section is embedded in another file) and what was expected.
 */
export function parseConfigSection<T extends z.ZodType>(schema: T, input: unknown, source: string, prefix: string[] = []): z.infer<T> {
  const result = schema.safeParse(input ?? {});
  if (result.success) return result.data;
  const keyName = (path: PropertyKey[]) => ([...prefix, ...path].length ? [...prefix, ...path].map(String).join('.') : '(top level)');
  const messages: string[] = [];
  let firstKey: string | undefined;
  for (const issue of result.error.issues) {
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) {
        const full = keyName([...issue.path, key]);
        firstKey ??= full;
        messages.push(`${source}: unknown key "${full}"; expected one of: ${allowedKeysAt(schema, issue.path).join(', ')}`);
      }
    } else {
      const full = keyName(issue.path);
      firstKey ??= full;
      messages.push(`${source}: key "${full}": ${issue.message}`);
    }
  }
  throw new ConfigError(messages.join('\n'), source, firstKey);
}

/** Reads a YAML file; returns its content as written (validate it with `parseConfigSection`). */
export async function readYamlFile(path: string): Promise<unknown> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (err) {
    throw new ConfigError(`${path}: cannot read the configuration file (${(err as Error).message})`, path);
  }
  const doc = parseDocument(text, { prettyErrors: true, uniqueKeys: true });
  if (doc.errors.length) throw new ConfigError(`${path}: not valid YAML: ${doc.errors[0]!.message}`, path);
  return doc.toJS() ?? {};
}
