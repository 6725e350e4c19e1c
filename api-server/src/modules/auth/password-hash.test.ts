import argon2 from 'argon2';
import { createPasswordHasher } from './password-hash';

describe('password hasher', () => {
  const cost = { passwordHashMemoryKib: 1024, passwordHashIterations: 1 };

  it('hashes with one lane, and verifies and marks for rehash a hash of 4 lanes (earlier versions)', async () => {
    const hasher = createPasswordHasher(cost);
    expect(await hasher.hash('pw')).toMatch(/^\$argon2id\$v=19\$m=1024,p=1,t=1\$/);
    const earlier = await argon2.hash('pw', { type: argon2.argon2id, memoryCost: 1024, timeCost: 1, parallelism: 4 });
    expect(await hasher.verify(earlier, 'pw')).toBe(true);
    expect(await hasher.verify(earlier, 'wrong')).toBe(false);
    expect(hasher.needsRehash(earlier)).toBe(true);
    expect(hasher.needsRehash(await hasher.hash('pw'))).toBe(false);
  });
});
