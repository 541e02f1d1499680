/**
 * Warns once when both builds of this package (ES module and CommonJS) load in one process: the dual-package
 * hazard. Nest injection tokens are classes, so a provider registered by one copy is not found by a class imported
 * from the other. Imported for its side effect by the barrel; the build format is told apart without
 * `import.meta`, which the CommonJS build cannot use.
 */
const LOADED_BUILDS = Symbol.for('nest-jwt-issuer.loaded-builds');

/** Stable `code` of the process warning, for `process.on('warning')` filters. */
export const DUAL_PACKAGE_WARNING_CODE = 'NEST_JWT_ISSUER_DUAL_PACKAGE';

const registry = globalThis as { [LOADED_BUILDS]?: Set<string> };
const builds = (registry[LOADED_BUILDS] ??= new Set<string>());
// `module` exists only in a CommonJS module's scope; `typeof` does not throw where it is undeclared.
builds.add(typeof module === 'object' ? 'commonjs' : 'esm');
if (builds.size > 1 && !builds.has('warned')) {
  builds.add('warned');
  process.emitWarning(
    'nest-jwt-issuer is loaded twice, as an ES module and as CommonJS. Nest injection tokens are classes, so a ' +
      'provider from one copy is not found by a class imported from the other ("Nest can\'t resolve ' +
      'dependencies"). Load it one way: `import` throughout an ESM application, `require` throughout a CommonJS one.',
    { code: DUAL_PACKAGE_WARNING_CODE },
  );
}
