/** Kubernetes quantities as used in the Domain and Drive specs ("10Gi", "500M", "0") to bytes. */
const UNITS: Record<string, bigint> = {
  '': 1n,
  k: 10n ** 3n,
  M: 10n ** 6n,
  G: 10n ** 9n,
  T: 10n ** 12n,
  P: 10n ** 15n,
  Ki: 2n ** 10n,
  Mi: 2n ** 20n,
  Gi: 2n ** 30n,
  Ti: 2n ** 40n,
  Pi: 2n ** 50n,
};

export function quantityToBytes(quantity: string): number {
  const match = /^([0-9]+)(?:\.([0-9]+))?(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/.exec(quantity);
  if (!match) throw new Error(`not a size quantity: "${quantity}"`);
  // Exact (BigInt), then rounded up so a quota of "1.5Ki" never allows less than it says: floating point
  // made "1.1k" 1101 bytes, and could round a size the CRD admits (≤ 2^53 - 1) past the data plane's limit.
  const fraction = match[2] ?? '';
  const scaled = BigInt(match[1]! + fraction) * UNITS[match[3] ?? '']!;
  const divisor = 10n ** BigInt(fraction.length);
  return Number((scaled + divisor - 1n) / divisor);
}
