import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMON_OPTIONS } from '../../lib/cli/cli-support.js';
import { COMMANDS } from '../../lib/cli/cli.js';

// docs/cli.md against the CLI's own command table: a command or option the page names must exist, and every
// command and option that exists must be on the page. (What the commands do is tested in cli.spec.ts; the sample
// page's commands run in sample-path.spec.ts.)
const docs = join(import.meta.dirname, '..', '..', 'docs');
const cliPage = readFileSync(join(docs, 'cli.md'), 'utf8');
const samplePage = readFileSync(join(docs, 'sample.md'), 'utf8');

/** The bash (and unlabelled) code blocks of a page. */
function commandBlocks(markdown: string): string[] {
  const blocks: string[] = [];
  let open: { lang: string; lines: string[] } | undefined;
  for (const line of markdown.split('\n')) {
    const fence = /^```(\S*)/.exec(line);
    if (!fence) {
      open?.lines.push(line);
    } else if (open) {
      if (open.lang === '' || open.lang === 'bash')
        blocks.push(open.lines.join('\n'));
      open = undefined;
    } else {
      open = { lang: fence[1], lines: [] };
    }
  }
  return blocks;
}

/** Every CLI invocation in the command blocks of a page: the words after the program name. */
function invocations(markdown: string): string[][] {
  const out: string[][] = [];
  for (const block of commandBlocks(markdown)) {
    for (const m of block.matchAll(
      /(?:nest-jwt-issuer|npm run -s cli --)((?: +(?:"[^"]*"|'[^']*'|[^\s|;)<>]+))*)/g,
    )) {
      const words = m[1].trim().match(/"[^"]*"|'[^']*'|\S+/g) ?? [];
      if (words.length > 0) out.push(words);
    }
  }
  return out;
}

/** The section of docs/cli.md about one command. */
function section(words: readonly string[]): string {
  const start = cliPage.indexOf(`## \`${words.join(' ')}\``);
  if (start < 0) return '';
  const next = cliPage.indexOf('\n## ', start + 1);
  return cliPage.slice(start, next < 0 ? undefined : next);
}

describe('docs/cli.md and the CLI agree', () => {
  it('has a section for every command, naming every option the command takes', () => {
    for (const c of COMMANDS) {
      const text = section(c.words);
      expect(text, c.words.join(' ')).not.toBe('');
      for (const option of Object.keys(c.options)) {
        expect(text, `${c.words.join(' ')} --${option}`).toContain(
          `--${option}`,
        );
      }
    }
  });

  it.each([
    ['docs/cli.md', cliPage],
    ['docs/sample.md', samplePage],
  ])('%s names only commands and options that exist', (_page, markdown) => {
    const found = invocations(markdown);
    expect(found.length).toBeGreaterThan(5);
    for (const words of found) {
      if (words[0].startsWith('-')) {
        expect(['--help', '-h', '--version']).toContain(words[0]);
        continue;
      }
      const c = COMMANDS.find((x) => x.words.every((w, i) => words[i] === w));
      expect(c, words.join(' ')).toBeDefined();
      const known = new Set([
        ...Object.keys(c!.options),
        ...Object.keys(COMMON_OPTIONS),
      ]);
      for (const w of words.slice(c!.words.length)) {
        const option = /^--([\w-]+)/.exec(w)?.[1];
        if (option)
          expect(known, `${words.join(' ')}: --${option}`).toContain(option);
      }
    }
  });
});
