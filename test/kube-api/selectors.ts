import { badRequest } from './status';
import { getIn } from './json';
import type { KubeObject, ResourceType } from './types';

// Label and field selectors with the apiserver's grammar: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`,
// `a`, `!a` for labels; `path=value`, `path==value`, `path!=value` for fields. A field the kind does not
// support is a 400, as on a real server, so tests cannot depend on selectors that kind would reject.
export type Matcher = (obj: KubeObject) => boolean;

interface LabelRequirement {
  key: string;
  op: 'eq' | 'neq' | 'in' | 'notin' | 'exists' | 'notexists';
  values: string[];
}

/** Splits on commas that are not inside parentheses (the `in (a,b)` lists). */
function splitTerms(selector: string): string[] {
  const terms: string[] = [];
  let depth = 0;
  let start = 0;
  for (let i = 0; i < selector.length; i++) {
    const c = selector[i];
    if (c === '(') depth++;
    else if (c === ')') depth--;
    else if (c === ',' && depth === 0) {
      terms.push(selector.slice(start, i));
      start = i + 1;
    }
  }
  terms.push(selector.slice(start));
  return terms.map((t) => t.trim()).filter((t) => t !== '');
}

function parseLabelTerm(term: string): LabelRequirement {
  const set = /^([^\s!=]+)\s+(in|notin)\s+\(([^)]*)\)$/.exec(term);
  if (set) {
    const values = set[3]!.split(',').map((v) => v.trim()).filter((v) => v !== '');
    return { key: set[1]!, op: set[2] as 'in' | 'notin', values };
  }
  const cmp = /^([^\s!=]+)\s*(==|=|!=)\s*(\S*)$/.exec(term);
  if (cmp) return { key: cmp[1]!, op: cmp[2] === '!=' ? 'neq' : 'eq', values: [cmp[3]!] };
  const not = /^!\s*([^\s!=]+)$/.exec(term);
  if (not) return { key: not[1]!, op: 'notexists', values: [] };
  if (/^[^\s!=(),]+$/.test(term)) return { key: term, op: 'exists', values: [] };
  throw badRequest(`unable to parse requirement: found '${term}', expected: in, notin, =, ==, !=, gt, lt`);
}

export function parseLabelSelector(selector: string | null | undefined): Matcher {
  if (!selector) return () => true;
  const requirements = splitTerms(selector).map(parseLabelTerm);
  return (obj) => {
    const labels = obj.metadata.labels ?? {};
    return requirements.every(({ key, op, values }) => {
      const has = Object.prototype.hasOwnProperty.call(labels, key);
      const value = labels[key];
      switch (op) {
        case 'eq':
        case 'in':
          return has && values.includes(value!);
        case 'neq':
        case 'notin':
          return !has || !values.includes(value!);
        case 'exists':
          return has;
        case 'notexists':
          return !has;
      }
    });
  };
}

export function parseFieldSelector(selector: string | null | undefined, type: ResourceType): Matcher {
  if (!selector) return () => true;
  const allowed = new Set(['metadata.name', 'metadata.namespace', ...(type.selectableFields ?? [])]);
  const requirements = splitTerms(selector).map((term) => {
    const m = /^([^!=]+)(==|=|!=)(.*)$/.exec(term);
    if (!m) throw badRequest(`invalid selector: '${selector}'; can't understand '${term}'`);
    const field = m[1]!.trim();
    if (!allowed.has(field)) throw badRequest(`field label not supported: ${field}`);
    return { path: field.split('.'), negate: m[2] === '!=', value: m[3]!.trim() };
  });
  return (obj) =>
    requirements.every(({ path, negate, value }) => {
      const actual = getIn(obj, path);
      const text = actual === undefined || actual === null ? '' : String(actual);
      return negate ? text !== value : text === value;
    });
}
