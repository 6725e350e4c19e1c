import { clone, deepEqual, isObject, type Json } from '../json';
import { KubeApiError } from '../status';

// RFC 6902 JSON patch over RFC 6901 pointers. Failures are 422 like the apiserver's
// ("the server rejected our request due to an error in our request").
export interface JsonPatchOperation {
  op: 'add' | 'remove' | 'replace' | 'move' | 'copy' | 'test';
  path: string;
  from?: string;
  value?: Json;
}

function fail(message: string): KubeApiError {
  return new KubeApiError(422, 'Invalid', message);
}

function parsePointer(pointer: string): string[] {
  if (pointer === '') return [];
  if (!pointer.startsWith('/')) throw fail(`invalid JSON pointer "${pointer}"`);
  return pointer.slice(1).split('/').map((t) => t.replace(/~1/g, '/').replace(/~0/g, '~'));
}

/** The container holding the pointer's last token, and that token. */
function locate(doc: Json, tokens: string[], pointer: string): { parent: Json; token: string } {
  let parent: Json = doc;
  for (const token of tokens.slice(0, -1)) {
    const next: Json | undefined = Array.isArray(parent) ? parent[Number(token)] : isObject(parent) ? parent[token] : undefined;
    if (next === undefined) throw fail(`doc is missing path: "${pointer}"`);
    parent = next;
  }
  return { parent, token: tokens[tokens.length - 1]! };
}

function read(doc: Json, pointer: string): Json {
  let node: Json | undefined = doc;
  for (const token of parsePointer(pointer)) {
    node = Array.isArray(node) ? node[Number(token)] : isObject(node) ? node[token] : undefined;
    if (node === undefined) throw fail(`doc is missing path: "${pointer}"`);
  }
  return node;
}

function remove(doc: Json, pointer: string): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) throw fail('cannot remove the whole document');
  const { parent, token } = locate(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    const index = Number(token);
    if (!Number.isInteger(index) || index < 0 || index >= parent.length) throw fail(`Unable to remove nonexistent key: ${token}: missing value`);
    return parent.splice(index, 1)[0]!;
  }
  if (!isObject(parent) || !(token in parent)) throw fail(`Unable to remove nonexistent key: ${token}: missing value`);
  const old = parent[token]!;
  delete parent[token];
  return old;
}

function add(doc: Json, pointer: string, value: Json, replace: boolean): Json {
  const tokens = parsePointer(pointer);
  if (tokens.length === 0) return value;
  const { parent, token } = locate(doc, tokens, pointer);
  if (Array.isArray(parent)) {
    const index = token === '-' ? parent.length : Number(token);
    if (!Number.isInteger(index) || index < 0 || index > parent.length || (replace && index === parent.length)) {
      throw fail(`add operation does not apply: doc is missing path: "${pointer}"`);
    }
    parent.splice(index, replace ? 1 : 0, value);
  } else if (isObject(parent)) {
    if (replace && !(token in parent)) throw fail(`replace operation does not apply: doc is missing key: ${pointer}: missing value`);
    parent[token] = value;
  } else {
    throw fail(`doc is missing path: "${pointer}"`);
  }
  return doc;
}

export function applyJsonPatch(document: Json, operations: unknown): Json {
  if (!Array.isArray(operations)) throw new KubeApiError(400, 'BadRequest', 'json patch must be an array of operations');
  let doc = clone(document);
  for (const raw of operations as JsonPatchOperation[]) {
    switch (raw.op) {
      case 'add':
        doc = add(doc, raw.path, clone(raw.value ?? null), false);
        break;
      case 'replace':
        doc = add(doc, raw.path, clone(raw.value ?? null), true);
        break;
      case 'remove':
        remove(doc, raw.path);
        break;
      case 'move': {
        const value = remove(doc, raw.from ?? '');
        doc = add(doc, raw.path, value, false);
        break;
      }
      case 'copy':
        doc = add(doc, raw.path, clone(read(doc, raw.from ?? '')), false);
        break;
      case 'test':
        if (!deepEqual(read(doc, raw.path), raw.value)) throw fail(`testing value ${raw.path} failed: test failed`);
        break;
      default:
        throw fail(`Unexpected kind: ${String((raw as { op?: unknown }).op)}`);
    }
  }
  return doc;
}
