import { createHash, createHmac } from 'node:crypto';
import { computeProofCode, computeProofV2, newProofNonce, proofRange, proofV2Equal } from './proof';

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

describe('proof v2', () => {
  const content = Buffer.from(Array.from({ length: 300_000 }, (_, i) => (i * 7) % 256));
  const nonce = newProofNonce();

  it('is HMAC-SHA256 keyed by the decoded nonce over the whole content, the same streamed as whole', async () => {
    expect(computeProofV2(nonce, content)).toBe(createHmac('sha256', Buffer.from(nonce, 'base64')).update(content).digest('hex'));
    async function* chunks() {
      for (let i = 0; i < content.length; i += 65_536) yield content.subarray(i, i + 65_536);
    }
    expect(await computeProofV2(nonce, chunks())).toBe(computeProofV2(nonce, content));
  });

  it('changes with any byte and with the nonce', () => {
    const other = Buffer.from(content);
    other[other.length - 1]! ^= 1;
    expect(computeProofV2(nonce, other)).not.toBe(computeProofV2(nonce, content));
    expect(computeProofV2(newProofNonce(), content)).not.toBe(computeProofV2(nonce, content));
  });

  it('compares answers exactly, refusing malformed ones', () => {
    const right = computeProofV2(nonce, content);
    expect(proofV2Equal(right, right)).toBe(true);
    expect(proofV2Equal(right, right.toUpperCase())).toBe(true);
    for (const bad of ['', right.slice(2), `${right}00`, 'z'.repeat(64), Buffer.from(right, 'hex').toString('base64')]) expect(proofV2Equal(right, bad)).toBe(false);
  });
});
