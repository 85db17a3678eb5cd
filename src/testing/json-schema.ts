/**
 * A small JSON Schema check for tests: the keywords asyncgate's schemas use, and an error for any other, so a
 * schema cannot pass by using a keyword this check would silently skip. Local `$ref`s (`#/…`) resolve against
 * `root`. Returns what is wrong, one line each (empty: valid). Test-only: not built.
 */
import type { JsonSchema } from '../shared/json-schema.js';

/** Keywords that only annotate: they constrain nothing. */
const ANNOTATIONS = new Set(['description', 'title', 'format', 'example', 'examples', 'default', 'deprecated', 'readOnly', 'writeOnly', 'contentMediaType', '$comment']);

export function schemaErrors(schema: JsonSchema, value: unknown, root: unknown = schema, at = '$'): string[] {
  const errors: string[] = [];
  const fail = (why: string) => errors.push(`${at}: ${why}`);
  for (const [keyword, arg] of Object.entries(schema)) {
    switch (keyword) {
      case '$ref':
        errors.push(...schemaErrors(resolve(root, arg as string), value, root, at));
        break;
      case 'type': {
        const types = Array.isArray(arg) ? (arg as string[]) : [arg as string];
        if (!types.some((t) => isType(value, t))) fail(`${JSON.stringify(value)} is not ${types.join(' or ')}`);
        break;
      }
      case 'enum':
        if (!(arg as unknown[]).some((v) => equal(v, value))) fail(`${JSON.stringify(value)} is not one of ${JSON.stringify(arg)}`);
        break;
      case 'const':
        if (!equal(arg, value)) fail(`${JSON.stringify(value)} is not ${JSON.stringify(arg)}`);
        break;
      case 'properties':
        if (isObject(value)) {
          for (const [name, sub] of Object.entries(arg as Record<string, JsonSchema>)) {
            if (name in value) errors.push(...schemaErrors(sub, value[name], root, `${at}.${name}`));
          }
        }
        break;
      case 'required':
        if (isObject(value)) for (const name of arg as string[]) if (!(name in value)) fail(`${name} is missing`);
        break;
      case 'additionalProperties':
        if (isObject(value)) {
          const known = new Set(Object.keys((schema.properties as Record<string, unknown> | undefined) ?? {}));
          for (const [name, v] of Object.entries(value)) {
            if (known.has(name)) continue;
            if (arg === false) fail(`${name} is not allowed`);
            else if (typeof arg === 'object' && arg !== null) errors.push(...schemaErrors(arg as JsonSchema, v, root, `${at}.${name}`));
          }
        }
        break;
      case 'items':
        if (Array.isArray(value)) value.forEach((v, i) => errors.push(...schemaErrors(arg as JsonSchema, v, root, `${at}[${i}]`)));
        break;
      case 'minItems':
        if (Array.isArray(value) && value.length < (arg as number)) fail(`fewer than ${arg} items`);
        break;
      case 'maxItems':
        if (Array.isArray(value) && value.length > (arg as number)) fail(`more than ${arg} items`);
        break;
      case 'minimum':
        if (typeof value === 'number' && value < (arg as number)) fail(`${value} < ${arg}`);
        break;
      case 'maximum':
        if (typeof value === 'number' && value > (arg as number)) fail(`${value} > ${arg}`);
        break;
      case 'minLength':
        if (typeof value === 'string' && value.length < (arg as number)) fail(`shorter than ${arg}`);
        break;
      case 'maxLength':
        if (typeof value === 'string' && value.length > (arg as number)) fail(`longer than ${arg}`);
        break;
      case 'pattern':
        if (typeof value === 'string' && !new RegExp(arg as string, 'u').test(value)) fail(`${JSON.stringify(value)} does not match ${arg}`);
        break;
      case 'allOf':
        for (const sub of arg as JsonSchema[]) errors.push(...schemaErrors(sub, value, root, at));
        break;
      case 'anyOf':
      case 'oneOf': {
        const passing = (arg as JsonSchema[]).filter((sub) => schemaErrors(sub, value, root, at).length === 0).length;
        if (keyword === 'anyOf' ? passing === 0 : passing !== 1) fail(`${passing} of the ${keyword} alternatives match`);
        break;
      }
      default:
        if (!ANNOTATIONS.has(keyword)) throw new Error(`${at}: the test's schema check does not know the keyword "${keyword}"`);
    }
  }
  return errors;
}

function resolve(root: unknown, ref: string): JsonSchema {
  if (!ref.startsWith('#/')) throw new Error(`only local $refs are checked: ${ref}`);
  let node = root;
  for (const part of ref.slice(2).split('/')) {
    node = isObject(node) ? node[part.replace(/~1/g, '/').replace(/~0/g, '~')] : undefined;
  }
  if (!isObject(node)) throw new Error(`$ref ${ref} points at nothing`);
  return node;
}

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function isType(value: unknown, type: string): boolean {
  switch (type) {
    case 'null':
      return value === null;
    case 'integer':
      return Number.isInteger(value);
    case 'array':
      return Array.isArray(value);
    case 'object':
      return isObject(value);
    default:
      return typeof value === type;
  }
}

function equal(a: unknown, b: unknown): boolean {
  return JSON.stringify(a) === JSON.stringify(b);
}
