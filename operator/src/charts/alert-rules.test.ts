// Every alert keeps the namespace and domain labels through its aggregations: the Prometheus Operator
// routes an AlertmanagerConfig's alerts only when they carry its namespace label. No promtool here, so a
// small check of the PromQL these rules use: each aggregation must group `by` both labels (a `without`,
// or a `by` after the argument, is refused as unchecked), and every series selector is scoped to the
// Domain's namespace. Binary operators between vectors keep the labels both sides share.
import { domainAlertRules, KEPT_LABELS } from './alert-rules';
import { createDomainContext } from './domain-context';
import { fullDomain, quickstartDomain } from './testing/domain-fixtures';

const AGGREGATION = /\b(sum|min|max|avg|group|stddev|stdvar|count|count_values|bottomk|topk|quantile|limitk|limit_ratio)\s*(by|without)?\s*(\(([^()]*)\))?\s*\(/g;

/** Why an expression may lose a kept label; [] when every aggregation keeps them all. */
function droppedLabels(expr: string): string[] {
  const problems: string[] = [];
  for (const match of expr.matchAll(AGGREGATION)) {
    const [whole, op, modifier, , grouping] = match;
    const closing = closingParen(expr, match.index + whole.length - 1);
    if (/^\s*(by|without)\b/.test(expr.slice(closing + 1))) problems.push(`${op}: grouping after the argument is not checked here`);
    else if (modifier !== 'by') problems.push(`${op} without \`by (${KEPT_LABELS.join(', ')})\` drops them`);
    else {
      const labels = grouping!.split(',').map((l) => l.trim());
      for (const label of KEPT_LABELS) if (!labels.includes(label)) problems.push(`${op} by (${grouping}) drops ${label}`);
    }
  }
  return problems;
}

function closingParen(expr: string, open: number): number {
  let depth = 0;
  for (let i = open; i < expr.length; i++) {
    if (expr[i] === '(') depth++;
    else if (expr[i] === ')' && --depth === 0) return i;
  }
  throw new Error(`unbalanced parentheses in ${expr}`);
}

test('the check catches what it is for', () => {
  expect(droppedLabels('sum(rate(x[5m])) > 0')).toEqual(['sum without `by (namespace, domain)` drops them']);
  expect(droppedLabels('max by (namespace) (x)')).toEqual(['max by (namespace) drops domain']);
  expect(droppedLabels('sum(x) by (namespace, domain)')).toEqual(['sum: grouping after the argument is not checked here']);
  expect(droppedLabels('histogram_quantile(0.99, sum by (namespace, domain, le) (rate(x[5m])))')).toEqual([]);
});

describe.each([
  ['standard s3', fullDomain],
  ['quickstart (volume)', quickstartDomain],
])('%s', (_name, fixture) => {
  const ctx = createDomainContext(fixture());
  const rules = domainAlertRules(ctx);

  test.each(rules.map((r) => [r.alert, r.expr] as const))('%s keeps namespace and domain on its alerts', (_alert, expr) => {
    expect(droppedLabels(expr)).toEqual([]);
  });

  test.each(rules.map((r) => [r.alert, r.expr] as const))('%s reads only series of the Domain namespace', (_alert, expr) => {
    const selectors = [...expr.matchAll(/\bopenpds_[a-z0-9_]+(\{[^}]*\})?/g)];
    expect(selectors.length).toBeGreaterThan(0);
    for (const [selector, matchers] of selectors) expect([selector, matchers ?? '']).toEqual([selector, expect.stringContaining(`namespace="${ctx.namespace}"`)]);
  });

  test('the AlertmanagerConfig route matches a label every alert carries', () => {
    for (const rule of rules) expect(rule.labels.openpds_domain).toBe(ctx.domain.metadata.name);
  });
});
