// The README is short and sends readers to docs/: a link that points nowhere, or an anchor no heading
// makes, is a dead end for exactly the reader the split was for. Checks every relative link of the
// README, docs/ and bench/README.md, as GitHub renders them (anchors from headings, lower-cased, spaces to
// dashes, punctuation dropped).
import fs from 'node:fs';
import path from 'node:path';

const root = path.join(__dirname, '../..');
const pages = ['README.md', 'bench/README.md', ...fs.readdirSync(path.join(root, 'docs')).filter((f) => f.endsWith('.md')).map((f) => `docs/${f}`)];

function anchors(markdown: string): Set<string> {
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split('\n')) {
    if (line.startsWith('```')) fenced = !fenced;
    const heading = !fenced && /^#{1,6} (.*)$/.exec(line);
    if (heading) out.add(heading[1]!.trim().toLowerCase().replace(/[^\p{L}\p{N} _-]/gu, '').replace(/ /g, '-'));
  }
  return out;
}

function links(markdown: string): string[] {
  const withoutCode = markdown.replace(/```[\s\S]*?```/g, '').replace(/`[^`\n]*`/g, '');
  return [...withoutCode.matchAll(/\]\(([^)\s]+)\)/g)].map((m) => m[1]!).filter((target) => !/^[a-z]+:/.test(target));
}

describe('documentation links', () => {
  it.each(pages)('every relative link of %s leads to a file, and its anchor to a heading', (page) => {
    const text = fs.readFileSync(path.join(root, page), 'utf8');
    const dead = links(text).filter((target) => {
      const [file, anchor] = target.split('#') as [string, string | undefined];
      const resolved = file === '' ? path.join(root, page) : path.join(root, path.dirname(page), file);
      if (!fs.existsSync(resolved)) return true;
      return anchor !== undefined && resolved.endsWith('.md') && !anchors(fs.readFileSync(resolved, 'utf8')).has(anchor);
    });
    expect(dead).toEqual([]);
  });

  it('the README links every page of docs/', () => {
    const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');
    const linked = new Set(links(readme).map((target) => target.split('#')[0]));
    expect(pages.filter((page) => page.startsWith('docs/') && !linked.has(page))).toEqual([]);
  });
});
