/**
 * Text shown to people as a name (a file's, a drive's, a user's nick name, a download's file name): what
 * must not be in it, wherever it comes from. A control character (Unicode's Cc: C0, DEL and C1) breaks
 * line-based tools or starts a terminal escape wherever the text is logged or printed; a bidi embedding,
 * override or isolate (the "Trojan Source" set, CVE-2021-42574) makes it display as other text:
 * `evil\u202egpj.exe` shows as `evilexe.jpg`. Right-to-left text needs none of them (the bidi algorithm
 * orders Hebrew or Arabic by itself); the marks U+200E, U+200F and U+061C, which cannot reorder a run,
 * are allowed. Free text (descriptions) is not display text: it may hold newlines.
 */
import { z } from 'zod';
import { invalidParameter } from './errors';

const CONTROL = /\p{Cc}/u;
const BIDI_CONTROL = /[\u202a-\u202e\u2066-\u2069]/u;

/** The first code point of `text` that `pattern` matches, as `U+XXXX at position n` (n counts code points from 1). */
function firstMatch(text: string, pattern: RegExp): string | undefined {
  if (!pattern.test(text)) return undefined;
  let position = 0;
  for (const ch of text) {
    position++;
    if (pattern.test(ch)) return `U+${ch.codePointAt(0)!.toString(16).toUpperCase().padStart(4, '0')} at position ${position}`;
  }
  return undefined;
}

/** Why `text` cannot be display text ("must not contain control characters (U+000A at position 2)"), or undefined. */
export function displayTextProblem(text: string): string | undefined {
  const control = firstMatch(text, CONTROL);
  if (control) return `must not contain control characters (${control})`;
  const bidi = firstMatch(text, BIDI_CONTROL);
  if (bidi) return `must not contain bidirectional control characters (${bidi}): they can make a name display as another`;
  return undefined;
}

/**
 * An update's new value of display text `field` (`drive_name` → InvalidParameter.DriveName), checked only
 * when it is new: one stored before these rules and sent back unchanged with another edit (a form sends
 * every field) is kept, not refused.
 */
export function checkChangedDisplayText(field: string, value: string | undefined, stored: string | null | undefined): void {
  if (value === undefined || value === stored) return;
  const problem = displayTextProblem(value);
  if (problem) throw invalidParameter(field, `${field}: ${problem}`);
}

/** For a zod string's superRefine: displayTextProblem's message as its issue. */
export function refineDisplayText(text: string, ctx: z.RefinementCtx): void {
  const problem = displayTextProblem(text);
  if (problem) ctx.addIssue({ code: 'custom', message: problem });
}

/** A zod string of display text. */
export function displayTextField(min: number, max: number) {
  return z.string().min(min).max(max).superRefine(refineDisplayText);
}
