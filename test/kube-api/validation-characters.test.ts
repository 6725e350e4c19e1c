// maxLength and minLength count characters (code points), as the apiserver does (utf8.RuneCountInString):
// counting UTF-16 units refused emoji descriptions a real cluster admits.
import { processCustomResource } from './validation';

const schema = { type: 'object', properties: { spec: { type: 'object', properties: { text: { type: 'string', minLength: 2, maxLength: 4 } } } } };
const causes = (text: string) => processCustomResource({ apiVersion: 'g/v1', kind: 'K', metadata: { name: 'x' }, spec: { text } }, schema, { defaults: false }).causes;

test('an emoji is one character, not two UTF-16 units', () => {
  const emoji = '\u{1F4C1}';
  expect(causes(emoji.repeat(4))).toEqual([]);
  expect(causes(emoji.repeat(5))).toEqual([expect.objectContaining({ reason: 'FieldValueTooLong', message: 'Too many: 5: must have at most 4 chars', field: 'spec.text' })]);
  expect(causes(emoji)).toEqual([expect.objectContaining({ reason: 'FieldValueInvalid', message: 'Invalid value: 1: spec.text in body should have at least 2 chars' })]);
  expect(causes('abcde')).toHaveLength(1);
});
