import { isObject, type Json } from './json';

// The JSONPath subset CRD printer columns use: `.a.b`, `[0]`, `[*]` and filters such as
// `.status.conditions[?(@.type=="Ready")].status`. Returns every match, as kubectl's evaluator does.
export function evaluateJsonPath(root: Json, expression: string): Json[] {
  const tokens = expression.trim().replace(/^\{|\}$/g, '').replace(/^\$/, '').match(/\[[^\]]*\]|\.?[^.[\]]+/g) ?? [];
  let current: Json[] = [root];
  for (const token of tokens) {
    const next: Json[] = [];
    for (const node of current) {
      if (token.startsWith('[')) {
        const inner = token.slice(1, -1).trim();
        if (!Array.isArray(node)) continue;
        const filter = /^\?\(@\.([\w.-]+)\s*(==|!=)\s*["']?([^"']*)["']?\)$/.exec(inner);
        if (inner === '*') next.push(...node);
        else if (filter) {
          const [, field, op, value] = filter;
          for (const item of node) {
            const actual = evaluateJsonPath(item, `.${field}`)[0];
            const equal = actual !== undefined && String(actual) === value;
            if (op === '==' ? equal : !equal) next.push(item);
          }
        } else {
          const index = Number(inner);
          const item = node[index < 0 ? node.length + index : index];
          if (item !== undefined) next.push(item);
        }
      } else {
        const key = token.replace(/^\./, '');
        if (isObject(node) && node[key] !== undefined) next.push(node[key]!);
      }
    }
    current = next;
  }
  return current;
}
