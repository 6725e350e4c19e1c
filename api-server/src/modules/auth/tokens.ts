/**
 * Access tokens: compact HS256 JWTs signed with the domain's secret (short-lived, verified without a
 * database round trip). Refresh tokens: random, stored only as a SHA-256 hash, rotated on every use.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import type { Role } from './auth.types';

export interface AccessClaims {
  sub: string;
  domain_id: string;
  role: Role;
  /** The user's token_generation when signed (migration 008); absent in older tokens, meaning 0. */
  gen?: number;
  /**
   * Random per token, so no two tokens are equal and nothing derived from one (the rapid-upload proof v1
   * offset is md5 of the token) can be known before it is issued. Absent in tokens signed before it was added.
   */
  jti?: string;
  iat: number;
  exp: number;
}

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');
const HEADER = b64({ alg: 'HS256', typ: 'JWT' });

export interface TokenSigner {
  signAccess(claims: Omit<AccessClaims, 'iat' | 'exp' | 'jti'>, ttlSeconds: number): string;
  /** Null when the token is malformed, tampered or expired. */
  verifyAccess(token: string): AccessClaims | null;
}

export function createTokenSigner(secret: string, now: () => number = Date.now): TokenSigner {
  const mac = (text: string) => createHmac('sha256', `access:${secret}`).update(text).digest();
  return {
    signAccess(claims, ttlSeconds) {
      const iat = Math.floor(now() / 1000);
      const body = `${HEADER}.${b64({ ...claims, jti: randomBytes(16).toString('base64url'), iat, exp: iat + ttlSeconds })}`;
      return `${body}.${mac(body).toString('base64url')}`;
    },
    verifyAccess(token) {
      const parts = token.split('.');
      if (parts.length !== 3 || parts[0] !== HEADER) return null;
      const given = Buffer.from(parts[2]!, 'base64url');
      const expected = mac(`${parts[0]}.${parts[1]}`);
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return null;
      try {
        const claims = JSON.parse(Buffer.from(parts[1]!, 'base64url').toString('utf8')) as AccessClaims;
        return claims.exp * 1000 > now() ? claims : null;
      } catch {
        return null;
      }
    },
  };
}

export const newRefreshToken = () => randomBytes(32).toString('base64url');
export const hashRefreshToken = (token: string) => createHash('sha256').update(token).digest('hex');
