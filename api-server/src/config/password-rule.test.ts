import { newPasswordProblem } from './password-rule';

describe('newPasswordProblem', () => {
  it('applies the API\'s password rule (user/create, user/update: 8 to 256 characters), never quoting the password', () => {
    expect(newPasswordProblem('a', 'OPENPDS_ADMIN_PASSWORD')).toBe('OPENPDS_ADMIN_PASSWORD must be at least 8 characters, as the API requires for any password; got 1');
    expect(newPasswordProblem('1234567', 'X')).toContain('got 7');
    expect(newPasswordProblem('12345678', 'X')).toBeUndefined();
    expect(newPasswordProblem('z'.repeat(256), 'X')).toBeUndefined();
    expect(newPasswordProblem('z'.repeat(257), 'X')).toBe('X must be at most 256 characters, as the API requires for any password; got 257');
  });
});
