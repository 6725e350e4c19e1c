import { createHash } from 'node:crypto';
import { computeProofCode, proofRange } from './proof';

describe('proof v1', () => {
  it('takes 8 bytes at md5(token) mod size, as PDS clients compute it', () => {
    const token = 'token-abc';
    const content = Buffer.from('0123456789abcdefghijklmnopqrstuvwxyz');
    const expectedStart = Number(BigInt('0x' + createHash('md5').update(token).digest('hex').slice(0, 16)) % BigInt(content.length));
    expect(proofRange(token, content.length)).toEqual({ start: expectedStart, end: Math.min(expectedStart + 8, content.length) - 1 });
    expect(Buffer.from(computeProofCode(token, content), 'base64')).toEqual(content.subarray(expectedStart, expectedStart + 8));
  });

  it('clips at the end of small content and has no proof for empty content', () => {
    expect(proofRange('t', 3)!.end).toBeLessThanOrEqual(2);
    expect(proofRange('t', 0)).toBeNull();
  });

  it('depends on the token', () => {
    const content = Buffer.from(Array.from({ length: 1 << 20 }, (_, i) => i % 251));
    expect(computeProofCode('a', content)).not.toEqual(computeProofCode('b', content));
  });
});
