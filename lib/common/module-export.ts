/**
 * The export `name` of a module loaded with `import()`: its named export, or, for a CommonJS package (Nest 11's)
 * whose names Node may put on `default` only, that one. `undefined` when neither has it. @internal
 */
export function exportOf<T>(module: unknown, name: string): T | undefined {
  const ns = module as
    | (Record<string, unknown> & { default?: Record<string, unknown> })
    | null
    | undefined;
  return (ns?.[name] ?? ns?.default?.[name]) as T | undefined;
}
