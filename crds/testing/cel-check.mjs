// Evaluates every x-kubernetes-validations rule of a CRD schema against objects, the way the API server
// does on create: each rule runs with `self` bound to the value at its schema node, only where that value
// exists; transition rules (using oldSelf) are skipped since there is no old object on create.
// Runs as a child process because the CEL library is ESM-only and jest (CommonJS here) cannot load it.
// stdin: {"cases": [{"schema": {...}, "object": {...}}]}  stdout: {"results": [["message", ...], ...]}
import { parse } from '@marcbachmann/cel-js';

const compiled = new Map();
function compile(rule) {
  if (!compiled.has(rule)) compiled.set(rule, parse(rule));
  return compiled.get(rule);
}

function check(schema, value, path, out) {
  if (value === undefined || value === null || !schema) return;
  for (const v of schema['x-kubernetes-validations'] ?? []) {
    if (/\boldSelf\b/.test(v.rule)) {
      compile(v.rule.replace(/\boldSelf\b/g, 'self')); // still proves the rule parses
      continue;
    }
    let ok;
    try {
      ok = compile(v.rule)({ self: value });
    } catch (err) {
      // The API server reports an evaluation error as a failed rule too.
      ok = false;
      out.push(`${path}: rule error ${v.rule}: ${err.message.split('\n')[0]}`);
      continue;
    }
    if (ok !== true) out.push(`${path}: ${v.message ?? v.rule}`);
  }
  if (schema.properties && typeof value === 'object' && !Array.isArray(value)) {
    for (const [key, sub] of Object.entries(schema.properties)) check(sub, value[key], `${path}.${key}`, out);
  }
  if (schema.items && Array.isArray(value)) value.forEach((item, i) => check(schema.items, item, `${path}[${i}]`, out));
}

let input = '';
process.stdin.on('data', (chunk) => (input += chunk));
process.stdin.on('end', () => {
  const { cases } = JSON.parse(input);
  const results = cases.map(({ schema, object }) => {
    const out = [];
    check(schema, object, '', out);
    return out;
  });
  process.stdout.write(JSON.stringify({ results }));
});
