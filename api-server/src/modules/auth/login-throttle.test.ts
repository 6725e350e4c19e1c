import { createLoginThrottle, MAX_FAILURES, WINDOW_MS } from './login-throttle';

describe('login throttle', () => {
  it('blocks a key after repeated failures until the window passes', () => {
    let t = 1_000_000;
    const throttle = createLoginThrottle(() => t);
    for (let i = 0; i < MAX_FAILURES - 1; i++) throttle.failed('alice');
    expect(throttle.blockedFor('alice')).toBe(0);
    throttle.failed('alice');
    expect(throttle.blockedFor('alice')).toBe(WINDOW_MS);
    expect(throttle.blockedFor('bob')).toBe(0);
    t += WINDOW_MS - 1;
    expect(throttle.blockedFor('alice')).toBe(1);
    t += 1;
    expect(throttle.blockedFor('alice')).toBe(0);
  });

  it('a success clears the count', () => {
    const throttle = createLoginThrottle(() => 0);
    for (let i = 0; i < MAX_FAILURES - 1; i++) throttle.failed('carol');
    throttle.succeeded('carol');
    throttle.failed('carol');
    expect(throttle.blockedFor('carol')).toBe(0);
  });
});
