/**
 * File names: validation (PDS: 1–1024 bytes, no '/'; OpenPDS also refuses what makes a name lie or break
 * tools, see validateName), and the auto_rename scheme `name (1).ext`.
 */
import { displayTextProblem } from '../../shared/display-text';
import { AppError } from '../../shared/errors';
import type { CheckNameMode } from './files.service';

export const MAX_NAME_BYTES = 1024;

/** Half a UTF-16 surrogate pair on its own (matched per code point: a whole pair is one astral character). */
const LONE_SURROGATE = /^\p{Cs}$/u;

/** The first lone surrogate of `name`, as `U+XXXX at position n` (n counts code points from 1). */
function loneSurrogate(name: string): string | undefined {
  let position = 0;
  for (const ch of name) {
    position++;
    if (LONE_SURROGATE.test(ch)) return `U+${ch.codePointAt(0)!.toString(16).toUpperCase()} at position ${position}`;
  }
  return undefined;
}

/**
 * A name a client gives (a new file or folder, a rename, a copy's or move's new_name). Beyond PDS's rules
 * it refuses (red team):
 * - ill-formed UTF-16 (a lone surrogate from a JSON `\ud800`): PostgreSQL stores it as U+FFFD, so the name
 *   stored differed from the one given and checked;
 * - control characters, C1 too, and bidi embeddings, overrides and isolates (shared/display-text.ts): a
 *   newline breaks every line-based tool, ESC (and C1's CSI, U+009B) starts a terminal escape in logs and
 *   CLIs, and `evil\u202egpj.exe` displays as `evilexe.jpg`, another extension, in a browser.
 * No normalisation (NFC/NFD, case) and no refusal of trailing dots or spaces: names are kept as given.
 */
export function validateName(name: string): string {
  const bad = (why: string) => new AppError('InvalidParameter.Name', 400, `name ${why}`);
  if (name.length === 0) throw bad('must not be empty');
  const surrogate = loneSurrogate(name);
  if (surrogate) throw bad(`must be valid Unicode (a lone surrogate ${surrogate})`);
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) throw bad(`must be at most ${MAX_NAME_BYTES} bytes`);
  if (name.includes('/')) throw bad("must not contain '/'");
  if (name.includes('\0')) throw bad('must not contain NUL');
  const problem = displayTextProblem(name);
  if (problem) throw bad(problem);
  if (name === '.' || name === '..') throw bad("must not be '.' or '..'");
  if (name.trim() !== name && name.trim() === '') throw bad('must not be blank');
  return name;
}

/**
 * file/create's name: validateName's, but a name the folder already holds, given to reach what holds it,
 * is not a new one (a PDS client uploads a revision by name under overwrite; refuse returns the folder or
 * file there): one stored before a rule was added is still reached, not refused. `held`: whether an
 * available item of the folder has exactly this name, asked only when validateName refuses it. Under
 * ignore and auto_rename the call makes a new item (or a new name from it): refused.
 */
export async function validateCreatedName(name: string, mode: CheckNameMode, held: () => Promise<boolean>): Promise<void> {
  try {
    validateName(name);
  } catch (error) {
    if ((mode === 'overwrite' || mode === 'refuse') && (await held())) return;
    throw error;
  }
}

export function splitExtension(name: string): { base: string; ext: string } {
  const dot = name.lastIndexOf('.');
  return dot > 0 ? { base: name.slice(0, dot), ext: name.slice(dot) } : { base: name, ext: '' };
}

/**
 * The names `nextFreeName` can produce from this one, or that can produce it, share a family: the name
 * with its extension apart and every trailing `(n)` dropped (`a(1)(2).txt` → `a` + `.txt`). Name checks
 * lock per family, so uploads of different names into one folder do not wait on each other while the
 * refuse/auto_rename races stay closed.
 */
export function nameFamily(name: string): string {
  const { base, ext } = splitExtension(name);
  return `${base.replace(/(\(\d+\))+$/, '')}/${ext}`; // no name holds a slash
}

/** The most bytes auto_rename's `(n)` takes: n stays a safe integer. */
const MAX_SUFFIX_BYTES = `(${Number.MAX_SAFE_INTEGER})`.length;

const utf8Bytes = (s: string) => Buffer.byteLength(s, 'utf8');

/** `s` cut to at most `maxBytes` of UTF-8, at a code point boundary (never half a character). */
export function cutToBytes(s: string, maxBytes: number): string {
  if (utf8Bytes(s) <= maxBytes) return s;
  let out = '';
  let bytes = 0;
  for (const ch of s) {
    bytes += utf8Bytes(ch);
    if (bytes > maxBytes) break;
    out += ch;
  }
  return out;
}

/** The base auto_rename numbers and the extension it keeps; an extension too long to keep is cut as base. */
function renameParts(name: string): { base: string; ext: string } {
  const { base, ext } = splitExtension(name);
  return utf8Bytes(ext) + MAX_SUFFIX_BYTES < MAX_NAME_BYTES ? { base, ext } : { base: name, ext: '' };
}

/**
 * `base(n).ext`, the base cut (at a character boundary) so that the name fits MAX_NAME_BYTES: numbering a
 * 1024-byte name gave a 1027-byte one, which no other call accepts (red team). Migration 018
 * (complete_claim_name) numbers names the same way in SQL.
 */
export function numberedName(name: string, n: number): string {
  const { base, ext } = renameParts(name);
  const suffix = `(${n})`;
  return `${cutToBytes(base, MAX_NAME_BYTES - utf8Bytes(suffix) - utf8Bytes(ext))}${suffix}${ext}`;
}

/** What every name `nextFreeName` can give for `name` starts with: the names to read as `taken`. */
export function autoRenamePrefix(name: string): string {
  const { base, ext } = renameParts(name);
  return cutToBytes(base, MAX_NAME_BYTES - MAX_SUFFIX_BYTES - utf8Bytes(ext));
}

/**
 * The first `base(n).ext` not in `taken`, n from 1. A name cut to fit can fall outside `name`'s family
 * (nameFamily): the caller locks its family too before it takes it.
 */
export function nextFreeName(name: string, taken: ReadonlySet<string>): string {
  for (let n = 1; ; n++) {
    const candidate = numberedName(name, n);
    if (!taken.has(candidate)) return candidate;
  }
}

const CATEGORY_BY_EXT: Record<string, string> = {};
const TYPES: Record<string, [string, string[]]> = {
  image: ['image', ['jpg', 'jpeg', 'png', 'gif', 'bmp', 'webp', 'heic', 'heif', 'tif', 'tiff', 'svg', 'raw', 'dng', 'cr2', 'nef', 'arw']],
  video: ['video', ['mp4', 'mov', 'avi', 'mkv', 'webm', 'wmv', 'flv', 'm4v', '3gp', 'mts']],
  audio: ['audio', ['mp3', 'wav', 'flac', 'aac', 'ogg', 'm4a', 'wma', 'opus']],
  doc: ['doc', ['pdf', 'doc', 'docx', 'xls', 'xlsx', 'ppt', 'pptx', 'txt', 'md', 'csv', 'rtf', 'odt', 'ods', 'odp', 'epub', 'html', 'json', 'xml']],
  zip: ['zip', ['zip', 'rar', '7z', 'tar', 'gz', 'bz2', 'xz', 'tgz']],
  app: ['app', ['apk', 'exe', 'dmg', 'msi', 'deb', 'rpm', 'ipa']],
};
for (const [category, exts] of Object.values(TYPES)) for (const ext of exts) CATEGORY_BY_EXT[ext] = category;

const MIME: Record<string, string> = {
  jpg: 'image/jpeg', jpeg: 'image/jpeg', png: 'image/png', gif: 'image/gif', webp: 'image/webp', heic: 'image/heic', bmp: 'image/bmp',
  svg: 'image/svg+xml', tif: 'image/tiff', tiff: 'image/tiff', mp4: 'video/mp4', mov: 'video/quicktime', webm: 'video/webm',
  mkv: 'video/x-matroska', mp3: 'audio/mpeg', wav: 'audio/wav', flac: 'audio/flac', ogg: 'audio/ogg', m4a: 'audio/mp4',
  pdf: 'application/pdf', txt: 'text/plain', md: 'text/markdown', csv: 'text/csv', html: 'text/html', json: 'application/json',
  xml: 'application/xml', zip: 'application/zip', gz: 'application/gzip', tar: 'application/x-tar', '7z': 'application/x-7z-compressed',
  doc: 'application/msword', docx: 'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
  xls: 'application/vnd.ms-excel', xlsx: 'application/vnd.openxmlformats-officedocument.spreadsheetml.sheet',
  ppt: 'application/vnd.ms-powerpoint', pptx: 'application/vnd.openxmlformats-officedocument.presentationml.presentation',
};

/**
 * What a file's new name changes of its extension, category and content type: all three, from the new
 * name, when the extension changes (report.txt → report.pdf); nothing when it stays (a content type the
 * client declared at file/create, which a rename replaced with one guessed from the name: data.bin's
 * application/x-foo became application/octet-stream). Every rename says it: file/update, file/move and
 * file/copy with new_name (the last two changed none of them, so copy.txt stayed category "others" with
 * extension "bin" and a category filter missed it). Folders have none. `storedExtension`: the file's
 * file_extension as stored (lower case, without the dot).
 */
export function describeRename(type: 'file' | 'folder', storedExtension: string | null | undefined, to: string): Partial<ReturnType<typeof describeName>> {
  if (type !== 'file') return {};
  // Against the extension stored, not the old name's: a file a rename mislabelled before (a move or copy
  // with new_name kept the old extension) is put right by its next rename that keeps the name's extension.
  const described = describeName(to);
  return described.file_extension === (storedExtension ?? '') ? {} : described;
}

export function describeName(name: string): { file_extension: string; category: string; content_type: string } {
  const ext = splitExtension(name).ext.slice(1).toLowerCase();
  return { file_extension: ext, category: CATEGORY_BY_EXT[ext] ?? 'others', content_type: MIME[ext] ?? 'application/octet-stream' };
}
