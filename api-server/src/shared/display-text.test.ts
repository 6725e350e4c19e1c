import { displayTextField, displayTextProblem } from './display-text';

describe('display text: no control characters, no bidi embeddings, overrides or isolates', () => {
  it.each([
    ['a\nb', 'must not contain control characters (U+000A at position 2)'],
    ['\u0000', 'must not contain control characters (U+0000 at position 1)'],
    ['a\u007f', 'must not contain control characters (U+007F at position 2)'],
    ['😀\u009b', 'must not contain control characters (U+009B at position 2)'], // positions count code points
    ['evil\u202egpj.exe', 'must not contain bidirectional control characters (U+202E at position 5): they can make a name display as another'],
    ['a\u2066b\u2069', 'must not contain bidirectional control characters (U+2066 at position 2): they can make a name display as another'],
  ])('%j: %s', (text, problem) => {
    expect(displayTextProblem(text)).toBe(problem);
  });

  it.each([
    ['Holiday 2026', 'plain'],
    ['שלום עולם', 'Hebrew'],
    ['مرحبا\u200f.txt', 'Arabic with a right-to-left mark'],
    ['a\u200eb\u061c', 'the left-to-right and Arabic letter marks'],
    ['می\u200cخواهم', 'a zero-width non-joiner'],
    ['👩\u200d👩\u200d👧', 'a zero-width joiner sequence'],
    ['a\u00a0b\u00adc', 'a no-break space and a soft hyphen'],
  ])('%j (%s) is fine', (text) => {
    expect(displayTextProblem(text)).toBeUndefined();
  });

  it('as a zod field: the length limits, then the problem as the message', () => {
    const field = displayTextField(1, 8);
    expect(field.safeParse('ok').success).toBe(true);
    expect(field.safeParse('').success).toBe(false);
    expect(field.safeParse('123456789').success).toBe(false);
    const refused = field.safeParse('a\tb');
    expect(refused.success).toBe(false);
    expect(refused.error?.issues[0]?.message).toBe('must not contain control characters (U+0009 at position 2)');
  });
});
