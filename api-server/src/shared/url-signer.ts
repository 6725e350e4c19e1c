/**
 * HMAC-signed, expiring URLs served by the API server itself (local-disk part uploads and downloads).
 * The signature covers the method, the path and every query parameter except the signature, so changing
 * any of them, or the expiry, makes the URL invalid.
 *
 * The signed text is a JSON array, never `k=v` lines: values come from users (a download's file name), and
 * a name holding "\nexpires=…\nkey=…" once let a user re-split a signed URL into one that named another
 * object and never expired. A JSON string cannot end early, so each value stays inside its own slot. A query
 * value that is not one string (a repeated or bracketed parameter) is refused, never dropped unsigned.
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

export interface UrlSigner {
  /** Absolute URL for method + path + params, valid until now + expiresInSeconds. */
  sign(method: string, path: string, params: Record<string, string>, expiresInSeconds: number): string;
  /** Checks a request; returns why it is refused ('expired' | 'invalid') or null when valid. */
  verify(method: string, path: string, query: Record<string, unknown>): 'expired' | 'invalid' | null;
}

export function createUrlSigner(options: { secret: string; baseUrl: string; now?: () => number }): UrlSigner {
  const now = options.now ?? Date.now;
  const canonical = (method: string, path: string, params: Record<string, string>) =>
    JSON.stringify([
      method.toUpperCase(),
      path,
      Object.keys(params)
        .filter((k) => k !== 'signature')
        .sort()
        .map((k) => [k, params[k]]),
    ]);
  const mac = (text: string) => createHmac('sha256', options.secret).update(text).digest('base64url');
  return {
    sign(method, path, params, expiresInSeconds) {
      const all = { ...params, expires: String(Math.floor(now() / 1000) + expiresInSeconds) };
      const signature = mac(canonical(method, path, all));
      return `${options.baseUrl}${path}?${new URLSearchParams({ ...all, signature })}`;
    },
    verify(method, path, query) {
      const params: Record<string, string> = {};
      for (const [k, v] of Object.entries(query)) {
        if (typeof v !== 'string') return 'invalid';
        params[k] = v;
      }
      const given = Buffer.from(params.signature ?? '');
      const expected = Buffer.from(mac(canonical(method, path, params)));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) return 'invalid';
      const expires = Number(params.expires);
      if (!Number.isFinite(expires) || expires * 1000 < now()) return 'expired';
      return null;
    },
  };
}
