// The Kubernetes CEL quantity library (k8s.io/apiserver/pkg/cel/library/quantity.go), which real
// apiservers offer to CRD validation rules since 1.29: quantity(), isQuantity() and the Quantity methods.
// Values are exact fractions of BigInts, so "1Gi" == "1073741824" and "0.5" == "500m" compare equal, as
// resource.Quantity.Cmp does. Registered by cel.ts on the environment that evaluates the rules.
import type { Environment } from '@marcbachmann/cel-js' with { 'resolution-mode': 'import' };

// <sign><digits>[.<digits>]<suffix>, as resource.ParseQuantity reads it.
const QUANTITY = /^([+-]?)([0-9]+(?:\.[0-9]*)?|\.[0-9]+)(Ki|Mi|Gi|Ti|Pi|Ei|n|u|m|k|M|G|T|P|E|[eE][+-]?[0-9]+)?$/;
const BINARY: Record<string, bigint> = { Ki: 10n, Mi: 20n, Gi: 30n, Ti: 40n, Pi: 50n, Ei: 60n };
const DECIMAL: Record<string, number> = { n: -9, u: -6, m: -3, k: 3, M: 6, G: 9, T: 12, P: 15, E: 18 };
const INT64_MAX = 2n ** 63n - 1n;
const INT64_MIN = -(2n ** 63n);

export class Quantity {
  /** num / den, den > 0, in lowest terms. */
  readonly num: bigint;
  readonly den: bigint;
  constructor(num: bigint, den = 1n) {
    const g = gcd(num < 0n ? -num : num, den) || 1n;
    this.num = num / g;
    this.den = den / g;
  }
  cmp(other: Quantity): bigint {
    const a = this.num * other.den;
    const b = other.num * this.den;
    return a < b ? -1n : a > b ? 1n : 0n;
  }
}

function gcd(a: bigint, b: bigint): bigint {
  while (b) [a, b] = [b, a % b];
  return a;
}

export function parseQuantity(text: string): Quantity | undefined {
  const match = QUANTITY.exec(text);
  if (!match) return undefined;
  const [, sign, number, suffix = ''] = match;
  const [whole, fraction = ''] = number!.split('.');
  let num = BigInt((whole || '0') + fraction) * (sign === '-' ? -1n : 1n);
  let den = 10n ** BigInt(fraction.length);
  let exp10 = 0;
  if (suffix in BINARY) num *= 2n ** BINARY[suffix]!;
  else if (suffix in DECIMAL) exp10 = DECIMAL[suffix]!;
  else if (suffix) exp10 = Number(suffix.slice(1));
  if (Math.abs(exp10) > 1000) return undefined; // far beyond what resource.Quantity represents
  if (exp10 >= 0) num *= 10n ** BigInt(exp10);
  else den *= 10n ** BigInt(-exp10);
  return new Quantity(num, den);
}

function quantity(text: string): Quantity {
  const q = parseQuantity(text);
  if (!q) throw new Error(`quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$': "${text}"`);
  return q;
}

const isInt64 = (q: Quantity) => q.den === 1n && q.num >= INT64_MIN && q.num <= INT64_MAX;

/** Registers the library on a cel-js Environment; returns it for chaining. */
export function registerQuantityLibrary(env: Environment): Environment {
  return env
    .registerType('Quantity', Quantity)
    .registerFunction('quantity(string): Quantity', quantity)
    // Quantity.Equal compares values, as Cmp does: quantity("1Gi") == quantity("1024Mi").
    .registerOperator('Quantity == Quantity', (a: Quantity, b: Quantity) => a.cmp(b) === 0n)
    .registerFunction('isQuantity(string): bool', (text: string) => parseQuantity(text) !== undefined)
    .registerFunction('Quantity.sign(): int', (q: Quantity) => (q.num > 0n ? 1n : q.num < 0n ? -1n : 0n))
    .registerFunction('Quantity.isInteger(): bool', isInt64)
    .registerFunction('Quantity.asInteger(): int', (q: Quantity) => {
      if (!isInt64(q)) throw new Error('cannot convert value to integer');
      return q.num;
    })
    .registerFunction('Quantity.asApproximateFloat(): double', (q: Quantity) => Number(q.num) / Number(q.den))
    .registerFunction('Quantity.isGreaterThan(Quantity): bool', (a: Quantity, b: Quantity) => a.cmp(b) > 0n)
    .registerFunction('Quantity.isLessThan(Quantity): bool', (a: Quantity, b: Quantity) => a.cmp(b) < 0n)
    .registerFunction('Quantity.compareTo(Quantity): int', (a: Quantity, b: Quantity) => a.cmp(b))
    .registerFunction('Quantity.add(Quantity): Quantity', (a: Quantity, b: Quantity) => new Quantity(a.num * b.den + b.num * a.den, a.den * b.den))
    .registerFunction('Quantity.add(int): Quantity', (a: Quantity, b: bigint) => new Quantity(a.num + b * a.den, a.den))
    .registerFunction('Quantity.sub(Quantity): Quantity', (a: Quantity, b: Quantity) => new Quantity(a.num * b.den - b.num * a.den, a.den * b.den))
    .registerFunction('Quantity.sub(int): Quantity', (a: Quantity, b: bigint) => new Quantity(a.num - b * a.den, a.den));
}
