/**
 * The fields of each 2xx answer the operator and the CLI read, checked before anything reads them. An
 * endpoint that is not an OpenPDS data plane (a catch-all proxy, another service on that port, a health
 * page) may answer 200 with any JSON: read as is, `{}` for a drive list crashed `openpds plan` with a
 * TypeError and a stack trace, and in the operator left a Drive's status untouched (a "bug", rethrown).
 * Now such an answer is an AdminApiError `InvalidResponse`, reported like any refused call. Only the
 * fields read are required: a data plane may add others.
 */
import { AdminApiError } from './admin-api-error';

type Check = (value: unknown) => string | undefined;

const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

/** An object whose listed fields have these types (`null` allowed where the type says `|null`). */
function fields(spec: Record<string, 'string' | 'number' | 'boolean' | 'number|null'>): Check {
  return (value) => {
    if (!isObject(value)) return 'not a JSON object';
    for (const [name, type] of Object.entries(spec)) {
      const v = value[name];
      const ok = type === 'number|null' ? v === null || typeof v === 'number' : typeof v === type;
      if (!ok) return `field ${name} is ${v === undefined ? 'missing' : `not a ${type}`}`;
    }
    return undefined;
  };
}

function page(item: Check): Check {
  return (value) => {
    if (!isObject(value)) return 'not a JSON object';
    if (!Array.isArray(value.items)) return 'field items is not a list';
    if (value.next_marker !== undefined && value.next_marker !== null && typeof value.next_marker !== 'string') return 'field next_marker is not a string';
    for (const [i, entry] of value.items.entries()) {
      const problem = item(entry);
      if (problem) return `items[${i}]: ${problem}`;
    }
    return undefined;
  };
}

export const DRIVE_SHAPE = fields({ drive_id: 'string', drive_name: 'string', description: 'string', owner: 'string', owner_type: 'string', status: 'string', total_size: 'number|null', used_size: 'number', default: 'boolean' });
export const CREATED_DRIVE_SHAPE = fields({ drive_id: 'string' });
export const USER_SHAPE = fields({ user_id: 'string', user_name: 'string' });
export const DRIVE_PAGE_SHAPE = page(DRIVE_SHAPE);
export const USER_PAGE_SHAPE = page(USER_SHAPE);
/** drive/delete: nothing is read; domain/get: domain-usage.ts checks each figure it reads and says which is missing. */
export const ANY_SHAPE: Check = () => undefined;

/** `body` as T, or an InvalidResponse AdminApiError naming the call and what is wrong with its answer. */
export function checkShape<T>(body: unknown, check: Check, status: number, url: string): T {
  const problem = check(body);
  if (problem) throw new AdminApiError(status, 'InvalidResponse', `${url} answered ${status} with a body that is not the OpenPDS admin API's (${problem}): is this the domain's API URL?`);
  return body as T;
}
