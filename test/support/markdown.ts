import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

/** The repository's root folder. */
export const repositoryRoot = join(
  dirname(fileURLToPath(import.meta.url)),
  '../..',
);

/** The documentation pages: README.md and docs/*.md (paths from the root). */
export function documentationPages(): string[] {
  return [
    'README.md',
    ...readdirSync(join(repositoryRoot, 'docs'))
      .filter((f) => f.endsWith('.md'))
      .toSorted()
      .map((f) => `docs/${f}`),
  ];
}

/** A fenced code block of a page. */
export interface CodeBlock {
  page: string;
  /** The info string's first word (`bash`, `ts`, …), empty when none. */
  lang: string;
  code: string;
  /** 1-based line of the opening fence. */
  line: number;
}

/** Every fenced code block of a page. */
export function codeBlocks(page: string): CodeBlock[] {
  const lines = readFileSync(join(repositoryRoot, page), 'utf8').split('\n');
  const blocks: CodeBlock[] = [];
  let open: { lang: string; line: number; body: string[] } | undefined;
  lines.forEach((text, i) => {
    if (text.startsWith('```')) {
      if (open) {
        blocks.push({
          page,
          lang: open.lang,
          code: open.body.join('\n'),
          line: open.line,
        });
        open = undefined;
      } else
        open = {
          lang: text.slice(3).trim().split(/\s/)[0],
          line: i + 1,
          body: [],
        };
    } else open?.body.push(text);
  });
  return blocks;
}

/** The shell commands of a bash block: comment-only lines dropped, `\` continuations joined. */
export function shellCommands(code: string): string[] {
  const commands: string[] = [];
  let current = '';
  for (const line of code.split('\n')) {
    if (!current && (!line.trim() || line.trim().startsWith('#'))) continue;
    if (line.endsWith('\\')) current += `${line.slice(0, -1)} `;
    else {
      commands.push(`${current}${line}`.trim());
      current = '';
    }
  }
  return commands;
}

/** GitHub's anchor of a heading: lower case, punctuation dropped, spaces to `-`. */
export function headingAnchor(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N} _-]/gu, '')
    .replace(/ /g, '-');
}

/** The anchors of a page's headings (outside code blocks), with GitHub's `-1`, `-2` for repeated ones. */
export function pageAnchors(page: string): Set<string> {
  const seen = new Map<string, number>();
  const anchors = new Set<string>();
  let fence = false;
  for (const line of readFileSync(join(repositoryRoot, page), 'utf8').split(
    '\n',
  )) {
    if (line.startsWith('```')) fence = !fence;
    const m = !fence && /^#{1,6} (.+)$/.exec(line);
    if (!m) continue;
    const base = headingAnchor(m[1]);
    const n = seen.get(base) ?? 0;
    seen.set(base, n + 1);
    anchors.add(n === 0 ? base : `${base}-${n}`);
  }
  return anchors;
}

/** The relative links of a page (`[text](target)` outside code), with their line. */
export function relativeLinks(
  page: string,
): { target: string; line: number }[] {
  const links: { target: string; line: number }[] = [];
  let fence = false;
  readFileSync(join(repositoryRoot, page), 'utf8')
    .split('\n')
    .forEach((line, i) => {
      if (line.startsWith('```')) fence = !fence;
      if (fence) return;
      for (const m of line.replace(/`[^`]*`/g, '').matchAll(/\]\(([^)\s]+)\)/g))
        if (!/^[a-z]+:/.test(m[1])) links.push({ target: m[1], line: i + 1 });
    });
  return links;
}
