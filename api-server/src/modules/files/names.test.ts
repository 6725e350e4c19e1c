import { autoRenamePrefix, cutToBytes, describeName, describeRename, nameFamily, nextFreeName, numberedName, validateName } from './names';

const bytes = (s: string) => Buffer.byteLength(s, 'utf8');

describe('file names', () => {
  it.each([
    ['', 'must not be empty'],
    ['a/b', "must not contain '/'"],
    ['a\0b', 'must not contain NUL'],
    ['.', "must not be '.' or '..'"],
    ['..', "must not be '.' or '..'"],
    ['é'.repeat(513), 'at most 1024 bytes'],
  ])('refuses %j', (name, why) => {
    expect(() => validateName(name)).toThrow(expect.objectContaining({ code: 'InvalidParameter.Name', status: 400, message: expect.stringContaining(why) }));
  });

  it.each([
    ['a\nb', 'must not contain control characters (U+000A at position 2)'],
    ['a\u0001b', 'must not contain control characters (U+0001 at position 2)'],
    ['\u001b[31mred', 'must not contain control characters (U+001B at position 1)'],
    ['tab\there', 'must not contain control characters (U+0009 at position 4)'],
    ['del\u007f', 'must not contain control characters (U+007F at position 4)'],
    // C1: U+009B is CSI, a terminal escape on its own; U+0085 is NEL, a line break to some tools.
    ['a\u009b31mb', 'must not contain control characters (U+009B at position 2)'],
    ['line\u0085', 'must not contain control characters (U+0085 at position 5)'],
    // Positions count characters (code points), not UTF-16 units: the emoji is one.
    ['😀\r', 'must not contain control characters (U+000D at position 2)'],
  ])('refuses the control character in %j', (name, why) => {
    expect(() => validateName(name)).toThrow(expect.objectContaining({ code: 'InvalidParameter.Name', status: 400, message: `name ${why}` }));
  });

  it.each([
    ['evil\u202egpj.exe', 'U+202E at position 5'], // shows as evilexe.jpg
    ['a\u202ab', 'U+202A at position 2'],
    ['a\u202bb', 'U+202B at position 2'],
    ['a\u202cb', 'U+202C at position 2'],
    ['a\u202db', 'U+202D at position 2'],
    ['report\u2066.txt', 'U+2066 at position 7'],
    ['a\u2067b', 'U+2067 at position 2'],
    ['a\u2068b', 'U+2068 at position 2'],
    ['a\u2069b', 'U+2069 at position 2'],
  ])('refuses the bidirectional control in %j', (name, where) => {
    expect(() => validateName(name)).toThrow(expect.objectContaining({ code: 'InvalidParameter.Name', status: 400, message: expect.stringContaining(`must not contain bidirectional control characters (${where})`) }));
  });

  it.each([
    ['\ud800', 'U+D800 at position 1'],
    ['a\udfffb', 'U+DFFF at position 2'],
    ['😀\ud83d', 'U+D83D at position 2'], // a pair, then a high surrogate alone
    ['\ude00\ud83d', 'U+DE00 at position 1'], // the two halves in the wrong order
  ])('refuses ill-formed UTF-16 %j (PostgreSQL would store U+FFFD)', (name, where) => {
    expect(() => validateName(name)).toThrow(expect.objectContaining({ code: 'InvalidParameter.Name', status: 400, message: `name must be valid Unicode (a lone surrogate ${where})` }));
  });

  it('accepts right-to-left text with its marks, joiners and other format characters', () => {
    for (const name of ['שלום.txt', 'تقرير\u200f.pdf', '\u200eabc', 'می\u200cخواهم', '👨\u200d👩\u200d👧.jpg', 'soft\u00adhyphen', 'nbsp\u00a0here', '😀'])
      expect(validateName(name)).toBe(name);
  });

  it('accepts 1024 bytes, unicode and dots inside', () => {
    expect(validateName('a'.repeat(1024))).toHaveLength(1024);
    expect(validateName('照片 .2024.jpg')).toBe('照片 .2024.jpg');
  });

  it('auto-renames before the extension', () => {
    expect(nextFreeName('a.jpg', new Set(['a.jpg']))).toBe('a(1).jpg');
    expect(nextFreeName('a.jpg', new Set(['a.jpg', 'a(1).jpg']))).toBe('a(2).jpg');
    expect(nextFreeName('.bashrc', new Set())).toBe('.bashrc(1)');
  });

  it('puts every name auto_rename can produce from a name in that name\'s lock family, unless cut to fit (files.service freeName)', () => {
    for (const name of ['a.jpg', 'a(1).jpg', 'a(1)(2).jpg', '.bashrc', 'noext', 'x.tar.gz', 'b(7)', '照片(3).heic']) {
      const taken = new Set([name]);
      for (let i = 0; i < 3; i++) {
        const next = nextFreeName(name, taken);
        expect(nameFamily(next)).toBe(nameFamily(name));
        taken.add(next);
      }
    }
    expect(nameFamily('a.jpg')).not.toBe(nameFamily('b.jpg'));
    expect(nameFamily('a.jpg')).not.toBe(nameFamily('a.png'));
  });

  it('cuts a name auto_rename numbers to 1024 bytes at a character boundary, keeping the extension', () => {
    const cases = [
      'a'.repeat(1020) + '.txt', // 1024 bytes of ASCII
      'é'.repeat(510) + '.txt', // 2-byte characters at the cut
      'a' + '照'.repeat(339) + '.md', // 3-byte: 1 + 1017 + 3 bytes
      '😀'.repeat(255) + '.jpg', // 4-byte (surrogate pairs in UTF-16)
      'x'.repeat(1023), // no extension
      'a.' + 'b'.repeat(1021), // an extension too long to keep
      '照'.repeat(300) + '.' + 'é'.repeat(60), // 900 + 1 + 120 bytes
    ];
    for (const name of cases) {
      expect(bytes(validateName(name))).toBeLessThanOrEqual(1024);
      const taken = new Set([name]);
      for (const n of [1, 2, 10, 100, 12345]) {
        const next = numberedName(name, n);
        expect(validateName(next)).toBe(next);
        expect(bytes(next)).toBeLessThanOrEqual(1024);
        expect(bytes(next)).toBeGreaterThan(1024 - 4); // cut by at most one character's bytes less than needed
        expect(next).not.toContain('\ufffd');
        expect(next.startsWith(autoRenamePrefix(name))).toBe(true);
        expect(next.endsWith(`(${n})`) || next.includes(`(${n}).`)).toBe(true);
        taken.add(next);
      }
      expect(nextFreeName(name, taken)).toBe(numberedName(name, 3));
    }
    expect(numberedName('a'.repeat(1020) + '.txt', 1)).toBe('a'.repeat(1017) + '(1).txt');
    expect(numberedName('é'.repeat(510) + '.txt', 1)).toBe('é'.repeat(508) + '(1).txt'); // 1016 + 3 + 4: 1017 would split an é
    expect(numberedName('😀'.repeat(255) + '.jpg', 10)).toBe('😀'.repeat(254) + '(10).jpg'); // 1016 + 4 + 4
    expect(numberedName('a.' + 'b'.repeat(1021), 1)).toBe('a.' + 'b'.repeat(1019) + '(1)');
    // Short names are not cut: the prefix is the base, as before.
    expect(autoRenamePrefix('a.jpg')).toBe('a');
    expect(numberedName('a.jpg', 7)).toBe('a(7).jpg');
  });

  it('cuts at code points', () => {
    expect(cutToBytes('aé照😀', 10)).toBe('aé照😀');
    expect(cutToBytes('aé照😀', 9)).toBe('aé照');
    expect(cutToBytes('aé照😀', 2)).toBe('a');
    expect(cutToBytes('😀', 3)).toBe('');
  });

  it('derives category and content type from the extension', () => {
    expect(describeName('IMG_1.JPG')).toEqual({ file_extension: 'jpg', category: 'image', content_type: 'image/jpeg' });
    expect(describeName('notes')).toEqual({ file_extension: '', category: 'others', content_type: 'application/octet-stream' });
  });

  it('describes a rename only when the extension changes, and never for a folder', () => {
    expect(describeRename('file', 'txt', 'report.pdf')).toEqual({ file_extension: 'pdf', category: 'doc', content_type: 'application/pdf' });
    expect(describeRename('file', '', 'photo.HEIC')).toEqual({ file_extension: 'heic', category: 'image', content_type: 'image/heic' });
    expect(describeRename('file', 'jpg', 'a')).toEqual({ file_extension: '', category: 'others', content_type: 'application/octet-stream' });
    expect(describeRename('file', 'bin', 'data2.bin')).toEqual({});
    expect(describeRename('file', 'jpg', 'img.jpg')).toEqual({});
    expect(describeRename('folder', null, 'b.txt')).toEqual({});
    // A file mislabelled by an older rename (notes.txt stored as bin) is put right by one that keeps .txt.
    expect(describeRename('file', 'bin', 'notes2.txt')).toEqual({ file_extension: 'txt', category: 'doc', content_type: 'text/plain' });
  });
});
