import 'reflect-metadata';
import { readFileSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';
import type { JwtIssuerCapability } from '../lib/config/capability.interface.js';
import type { EnvVarSpec } from '../lib/config/env-var.interface.js';
import type { OptionField, OptionFields } from '../lib/config/option-fields.js';
import { refusalFor } from '../lib/common/token-refusal.js';
import { JWT_ISSUER_CAPABILITIES } from '../lib/jwt-issuer.capabilities.js';
import {
  JwtIssuerError,
  JwtIssuerErrorCode,
  JwtIssuerExceptionFilter,
} from '../lib/index.js';

/**
 * Writes the reference tables of docs/configuration.md (every option of every capability's section: its environment
 * variable, type, default and meaning) and docs/errors.md (every error code: meaning, HTTP status, body) from the
 * code: the capabilities' environment variables (`JWT_ISSUER_CAPABILITIES`, the source of `JWT_ISSUER_ENV_VARS`),
 * the TSDoc of the options interfaces (`@default` and description) and of `JwtIssuerErrorCode`, and
 * `JwtIssuerExceptionFilter`'s own mapping. Only the text between `<!-- generated:… -->` markers is replaced; the
 * prose around it is the page's. `npm run docs:reference` writes the pages; `--check` only says whether they are
 * current (`test/docs/reference-pages.spec.ts` fails when they are not).
 */

/** The repository's root folder (this file is in scripts/, or in dist-sample/scripts/ once compiled). */
export function repositoryRoot(): string {
  const here = dirname(fileURLToPath(import.meta.url));
  return here.endsWith(join('dist-sample', 'scripts'))
    ? join(here, '../..')
    : join(here, '..');
}

/** One page's text as it should be. */
export interface ReferencePage {
  /** Path from the repository's root, e.g. `docs/configuration.md`. */
  file: string;
  text: string;
}

/** The reference pages as the code describes them, from the pages currently in `root`. */
export function renderReferencePages(root = repositoryRoot()): ReferencePage[] {
  const docs = new TsDocReader(root);
  const configuration = 'docs/configuration.md';
  const errors = 'docs/errors.md';
  return [
    {
      file: configuration,
      text: renderConfiguration(
        readFileSync(join(root, configuration), 'utf8'),
        docs,
      ),
    },
    {
      file: errors,
      text: replaceBlock(
        readFileSync(join(root, errors), 'utf8'),
        'error-codes',
        errorTable(docs),
        errors,
      ),
    },
  ];
}

/** Reads TSDoc comments through the TypeScript compiler, on the library's own source. */
class TsDocReader {
  private readonly checker: ts.TypeChecker;
  private readonly program: ts.Program;

  constructor(private readonly root: string) {
    this.program = ts.createProgram([join(root, 'lib/index.ts')], {
      target: ts.ScriptTarget.ES2023,
      module: ts.ModuleKind.NodeNext,
      moduleResolution: ts.ModuleResolutionKind.NodeNext,
      strict: true,
      experimentalDecorators: true,
      skipLibCheck: true,
      noEmit: true,
      types: ['node'],
    });
    this.checker = this.program.getTypeChecker();
  }

  /** The properties of an exported interface or object constant, by name. */
  members(file: string, name: string): ts.Symbol[] {
    const source = this.program.getSourceFile(join(this.root, file));
    if (!source) throw new Error(`${file}: not part of the library`);
    let node: ts.Node | undefined;
    source.forEachChild((child) => {
      if (ts.isInterfaceDeclaration(child) && child.name.text === name)
        node = child;
      if (ts.isVariableStatement(child))
        for (const d of child.declarationList.declarations)
          if (ts.isIdentifier(d.name) && d.name.text === name) node = d.name;
    });
    if (!node) throw new Error(`${file}: no export named ${name}`);
    return this.checker.getTypeAtLocation(node).getProperties();
  }

  /**
   * The properties of a property's type (its `undefined` removed), e.g. the options of one section; for a union
   * (`Options | false`), the properties of each object member, once each.
   */
  propertiesOf(member: ts.Symbol): ts.Symbol[] {
    const type = this.checker.getNonNullableType(this.typeOf(member));
    const members = type.isUnion() ? type.types : [type];
    const seen = new Map<string, ts.Symbol>();
    for (const t of members)
      if (t.flags & ts.TypeFlags.Object)
        for (const p of t.getProperties())
          if (!seen.has(p.name)) seen.set(p.name, p);
    return [...seen.values()];
  }

  /**
   * A property's declared type, as written in the declaration: an interface's property type, or the type argument of
   * an option's kind (`custom<PrivateKeyInput>(…)`, `items<X>(…)`: `X[]`); else the type the compiler infers
   * (`list(…)`: `string | string[]`).
   */
  typeText(member: ts.Symbol): string {
    const decl = member.valueDeclaration ?? member.declarations?.[0];
    if (decl && ts.isPropertySignature(decl) && decl.type)
      return decl.type.getText();
    if (
      decl &&
      ts.isPropertyAssignment(decl) &&
      ts.isCallExpression(decl.initializer) &&
      decl.initializer.typeArguments?.length
    ) {
      // `items<X>(…)` declares a list of X.
      const [type] = decl.initializer.typeArguments;
      return decl.initializer.expression.getText() === 'items'
        ? `${type.getText()}[]`
        : type.getText();
    }
    return this.checker.typeToString(
      this.checker.getNonNullableType(this.typeOf(member)),
      undefined,
      ts.TypeFormatFlags.UseSingleQuotesForStringLiteralType |
        ts.TypeFormatFlags.NoTruncation,
    );
  }

  /** A member's TSDoc: its text (with `{@link X}` as `X` in code) and its `@default`, if any. */
  doc(member: ts.Symbol): { text: string; default?: string } {
    const text = partsToMarkdown(member.getDocumentationComment(this.checker));
    const tag = member
      .getJsDocTags(this.checker)
      .find((t) => t.name === 'default');
    return {
      text,
      default: tag?.text ? partsToMarkdown(tag.text) : undefined,
    };
  }

  private typeOf(member: ts.Symbol): ts.Type {
    return this.checker.getTypeOfSymbol(member);
  }
}

function partsToMarkdown(parts: readonly ts.SymbolDisplayPart[]): string {
  let out = '';
  for (const part of parts) {
    if (part.kind === 'link') continue; // the `{@link` and `}` around a name
    if (part.kind === 'linkName' || part.kind === 'linkText')
      out += part.text.trim().startsWith('`')
        ? part.text
        : `\`${part.text.trim()}\``;
    else out += part.text;
  }
  return out.replace(/\s*\n\s*/g, ' ').trim();
}

/** A cell of a markdown table: one line, pipes escaped. */
function cell(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').replace(/\|/g, '\\|');
}

/** The literal a `@default` text starts with (`3600`, `'RS256'`, `[]`, `true`), as JSON, and the words after it. */
function defaultLiteral(
  value: string,
): { json: string; rest: string } | undefined {
  const literal =
    /^(-?\d[\d_]*(?:\.\d+)?|'[^']*'|"[^"]*"|\[[^\]]*\]|true|false)(\s.*)?$/.exec(
      value,
    );
  if (!literal) return undefined;
  const json = literal[1]
    .replace(/'/g, '"')
    .replace(/(\d)_(?=\d)/g, '$1')
    .replace(/,\s*/g, ', ');
  return { json, rest: literal[2] ?? '' };
}

/** `@default` text: code when it is a literal (`3600`, `'RS256'`, `[]`, `true`), else as written. */
function defaultCell(value: string | undefined): string {
  if (value === undefined) return '—';
  const literal = defaultLiteral(value);
  return literal ? `\`${literal.json}\`${literal.rest}` : value;
}

/**
 * The default column of an option: the default the code applies when the field has one (its `@default` text, if
 * any, must start with that value, and may explain it), else the `@default` text (a default that a rule applies,
 * e.g. `nats.signingKey`).
 */
function defaultText(
  path: string,
  field: OptionField | undefined,
  tag: string | undefined,
): string {
  if (field?.default === undefined) return defaultCell(tag);
  const code = JSON.stringify(field.default).replace(/,/g, ', ');
  if (tag === undefined) return `\`${code}\``;
  const literal = defaultLiteral(tag);
  if (literal?.json !== code)
    throw new Error(
      `${path}: its TSDoc says @default ${tag}, but the code applies ${code}`,
    );
  return defaultCell(tag);
}

/** The field of `path` (`callout.timeout`) in a section's table, through nested sections. */
function fieldAt(
  fields: OptionFields | undefined,
  path: string,
): OptionField | undefined {
  let field: OptionField | undefined;
  for (const key of path.split('.')) {
    field = fields?.[key];
    fields = field?.fields;
  }
  return field;
}

const ENV_FORMAT: Record<EnvVarSpec['kind'], string> = {
  string: 'text',
  number: 'a number',
  boolean: '`true` or `false`',
  list: 'a comma-separated list',
  json: 'JSON',
};

/** One table per capability section: every option of the section's type, with its variable when it has one. */
function optionsTable(
  { section, envVars, options }: JwtIssuerCapability,
  docs: TsDocReader,
): string {
  const sectionMember = docs
    .members(
      'lib/interfaces/jwt-issuer-module-options.interface.ts',
      'JwtIssuerModuleOptions',
    )
    .find((m) => m.name === section);
  if (!sectionMember)
    throw new Error(
      `JwtIssuerModuleOptions has no \`${section}\` property: the capability's options need their TSDoc there`,
    );
  const rows: string[] = [];
  const documented = new Set<string>();
  // Every option of the section; an option whose own options are fed by variables (`nats.callout.mode`) is
  // followed by a row for each of them, and so on down.
  const addRows = (members: ts.Symbol[], prefix: string) => {
    // In the order of the section's table (the order of its variables and of its known keys).
    const table =
      prefix === section
        ? options
        : fieldAt(options, prefix.slice(section.length + 1))?.fields;
    const order = Object.keys(table ?? {});
    const rank = (m: ts.Symbol) =>
      order.includes(m.name) ? order.indexOf(m.name) : order.length;
    for (const option of members.toSorted((a, b) => rank(a) - rank(b))) {
      const path = `${prefix}.${option.name}`;
      const name = path.slice(section.length + 1);
      documented.add(path);
      const spec = envVars.find((s) => s.path === path);
      const doc = docs.doc(option);
      if (!doc.text)
        throw new Error(
          `${path} has no TSDoc: its meaning goes above its field in the section's table`,
        );
      // The variable's name follows from the option's path (the table has a column for it): never written twice.
      if (
        /\bJWT_ISSUER_[A-Z0-9_]+|…_[A-Z0-9_]+`/.test(
          `${doc.text} ${doc.default ?? ''}`,
        )
      )
        throw new Error(
          `${path}: its TSDoc names an environment variable; the reference page shows it, from the option's path`,
        );
      const env = spec
        ? `\`${spec.env}\` (${ENV_FORMAT[spec.kind]}${spec.secret ? '; secret, never printed' : ''})`
        : '—';
      rows.push(
        `| \`${name}\` | ${env} | \`${cell(docs.typeText(option))}\` | ${cell(defaultText(path, fieldAt(options, name), doc.default))} | ${cell(doc.text)} |`,
      );
      if (envVars.some((s) => s.path.startsWith(`${path}.`)))
        addRows(docs.propertiesOf(option), path);
    }
  };
  addRows(docs.propertiesOf(sectionMember), section);
  for (const spec of envVars)
    if (!documented.has(spec.path))
      throw new Error(`${spec.env} feeds ${spec.path}, which is not an option`);
  return [
    '| option | environment variable | type | default | meaning |',
    '|---|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** The options that shape the module itself: `isGlobal`, `require`, and the options beside the sections. */
function moduleOptionsTable(docs: TsDocReader): string {
  const sections = new Set<string>(
    JWT_ISSUER_CAPABILITIES.map((c) => c.section),
  );
  const options = [
    ...docs.members(
      'lib/jwt-issuer.module-definition.ts',
      'JwtIssuerModuleExtras',
    ),
    ...docs
      .members(
        'lib/interfaces/jwt-issuer-module-options.interface.ts',
        'JwtIssuerModuleOptions',
      )
      .filter((m) => !sections.has(m.name)),
  ];
  const rows = options.map((option) => {
    const doc = docs.doc(option);
    if (!doc.text) throw new Error(`${option.name} has no TSDoc`);
    return `| \`${option.name}\` | \`${cell(docs.typeText(option))}\` | ${cell(defaultCell(doc.default))} | ${cell(doc.text)} |`;
  });
  return [
    '| option | type | default | meaning |',
    '|---|---|---|---|',
    ...rows,
  ].join('\n');
}

function renderConfiguration(page: string, docs: TsDocReader): string {
  let text = replaceBlock(
    page,
    'module-options',
    moduleOptionsTable(docs),
    'docs/configuration.md',
  );
  for (const capability of JWT_ISSUER_CAPABILITIES) {
    const block = `options:${capability.section}`;
    if (!text.includes(`<!-- generated:${block} -->`))
      // A capability the page does not mention yet still gets its table (and a heading to put prose under).
      text = `${text.trimEnd()}\n\n## \`${capability.section}\`\n\n<!-- generated:${block} -->\n<!-- /generated:${block} -->\n`;
    text = replaceBlock(
      text,
      block,
      optionsTable(capability, docs),
      'docs/configuration.md',
    );
  }
  const sections = new Set<string>(
    JWT_ISSUER_CAPABILITIES.map((c) => c.section),
  );
  for (const [, name] of text.matchAll(/<!-- generated:options:([\w-]+) -->/g))
    if (!sections.has(name))
      throw new Error(
        `docs/configuration.md: a table for \`${name}\`, which no capability has`,
      );
  return text;
}

/** Every code with its meaning (TSDoc of `JwtIssuerErrorCode`) and what `JwtIssuerExceptionFilter` answers. */
function errorTable(docs: TsDocReader): string {
  class FilterMapping extends JwtIssuerExceptionFilter {
    constructor() {
      super(undefined as never);
    }
    answer(code: JwtIssuerErrorCode): { status: number; body: string } {
      const error = new JwtIssuerError(code, '');
      const status = this.statusOf(error);
      return { status, body: JSON.stringify(this.bodyOf(error, status)) };
    }
  }
  const filter = new FilterMapping();
  const members = docs.members('lib/errors.ts', 'JwtIssuerErrorCode');
  const rows = Object.entries(JwtIssuerErrorCode).map(([name, code]) => {
    const member = members.find((m) => m.name === name);
    const text = member ? docs.doc(member).text : '';
    if (!text) throw new Error(`JwtIssuerErrorCode.${name} has no TSDoc`);
    const { status, body } = filter.answer(code);
    // The filter's header is the guard's (one mapping); 403 names no scope here (the decorator has them).
    const header =
      status === 401 || status === 403
        ? ` + \`WWW-Authenticate: ${refusalFor(new JwtIssuerError(code, '')).wwwAuthenticate}\``
        : '';
    return `| \`${code}\` | ${cell(text)} | ${status}${header} | \`${cell(body)}\` |`;
  });
  return [
    '| code | meaning | HTTP status (`JwtIssuerExceptionFilter`) | response body |',
    '|---|---|---|---|',
    ...rows,
  ].join('\n');
}

/** Replaces what is between `<!-- generated:NAME -->` and `<!-- /generated:NAME -->` (both must be there once). */
function replaceBlock(
  page: string,
  name: string,
  content: string,
  file: string,
): string {
  const open = `<!-- generated:${name} -->`;
  const close = `<!-- /generated:${name} -->`;
  const start = page.indexOf(open);
  const end = page.indexOf(close);
  if (start < 0 || end < start || page.indexOf(open, start + 1) >= 0)
    throw new Error(`${file}: needs one ${open} … ${close} block`);
  const note =
    '<!-- Generated by `npm run docs:reference` from the code: edit the TSDoc, not this table. -->';
  return `${page.slice(0, start)}${open}\n${note}\n\n${content}\n\n${page.slice(end)}`;
}

/** `npm run docs:reference [-- --check]`. */
function main(): void {
  const root = repositoryRoot();
  const check = process.argv.includes('--check');
  let stale = 0;
  for (const page of renderReferencePages(root)) {
    const path = join(root, page.file);
    if (readFileSync(path, 'utf8') === page.text) continue;
    stale++;
    if (check)
      console.error(`${page.file} is stale: run npm run docs:reference`);
    else {
      writeFileSync(path, page.text);
      console.log(`wrote ${relative(root, path)}`);
    }
  }
  if (check && stale > 0) process.exitCode = 1;
  else if (stale === 0) console.log('the reference pages are current');
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1])
  main();
