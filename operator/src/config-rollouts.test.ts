import { ConfigError, parseOperatorArgs } from './config';

test('--max-concurrent-rollouts takes a whole number, 0 for no limit; absent leaves the default to runOperator', () => {
  expect(parseOperatorArgs(['--max-concurrent-rollouts', '5']).maxConcurrentRollouts).toBe(5);
  expect(parseOperatorArgs(['--max-concurrent-rollouts=0']).maxConcurrentRollouts).toBe(0);
  expect(parseOperatorArgs([])).not.toHaveProperty('maxConcurrentRollouts');
  for (const bad of ['-1', '1.5', 'three', '']) {
    expect(() => parseOperatorArgs(['--max-concurrent-rollouts', bad])).toThrow(ConfigError);
  }
  expect(() => parseOperatorArgs(['--max-concurrent-rollouts', 'x'])).toThrow('--max-concurrent-rollouts x: expected a whole number (0 = no limit)');
});
