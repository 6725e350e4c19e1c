import { createHmac } from 'node:crypto';
import { createTokenSigner } from './tokens';

const SECRET = 'test-secret';
const claims = { sub: 'u1', domain_id: 'd1', role: 'user' as const, gen: 0 };
const payloadOf = (token: string) => JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString('utf8'));

describe('access tokens', () => {
  it('are never equal, even for one user in one second (the proof v1 offset is derived from the token)', () => {
    const signer = createTokenSigner(SECRET, () => 1_700_000_000_000);
    const tokens = Array.from({ length: 50 }, () => signer.signAccess(claims, 600));
    expect(new Set(tokens).size).toBe(tokens.length);
    const jtis = tokens.map((t) => payloadOf(t).jti);
    expect(jtis.every((j) => typeof j === 'string' && j.length >= 22)).toBe(true);
    expect(signer.verifyAccess(tokens[0]!)).toMatchObject({ ...claims, jti: jtis[0] });
  });

  it('still verifies tokens signed before they carried a jti', () => {
    const now = 1_700_000_000_000;
    const signer = createTokenSigner(SECRET, () => now);
    const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');
    const body = `${b64({ alg: 'HS256', typ: 'JWT' })}.${b64({ ...claims, iat: now / 1000, exp: now / 1000 + 600 })}`;
    const legacy = `${body}.${createHmac('sha256', `access:${SECRET}`).update(body).digest('base64url')}`;
    expect(signer.verifyAccess(legacy)).toMatchObject({ ...claims, iat: now / 1000 });
    expect(signer.verifyAccess(legacy)!.jti).toBeUndefined();
    expect(signer.verifyAccess(`${legacy.slice(0, -2)}xx`)).toBeNull();
  });
});
