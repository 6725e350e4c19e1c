/** Kubernetes quantities as used in the Domain and Drive specs ("10Gi", "500M", "0") to bytes. */
const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  M: 1e6,
  G: 1e9,
  T: 1e12,
  P: 1e15,
  Ki: 2 ** 10,
  Mi: 2 ** 20,
  Gi: 2 ** 30,
  Ti: 2 ** 40,
  Pi: 2 ** 50,
};

export function quantityToBytes(quantity: string): number {
  const match = /^([0-9]+(?:\.[0-9]+)?)(Ki|Mi|Gi|Ti|Pi|k|M|G|T|P)?$/.exec(quantity);
  if (!match) throw new Error(`not a size quantity: "${quantity}"`);
  // Rounded up so a quota of "1.5Ki" never allows less than it says.
  return Math.ceil(Number(match[1]) * UNITS[match[2] ?? '']!);
}
