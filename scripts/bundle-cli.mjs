// Bundles the ES modules that dist/cli/main.js statically imports from dist/ into
// one file, dist/cli/keepalived-ts.js, so that a start pays the ESM loader once
// instead of once per module (~0.8 ms each on the benchmark VM; ~60 modules on
// the `-t` path: docs/BENCHMARKS.md). Run after `tsc`:
//
//   node scripts/bundle-cli.mjs [entry] [out]
//
// Each module becomes a function that runs once, on first use, in the order ESM
// would run it (dependencies first). tsc's output is regular enough to rewrite
// its import and export statements with patterns; anything else (a cycle, a
// re-assigned `export let`, a form not listed below) stops the script with an
// error rather than produce a bundle that behaves differently. Packages and
// node: modules stay real imports, hoisted to the top, so they still load once.
// A literal `import('./x.js')` (the daemon, `status`: off the `-t` path) is
// bundled too, in a second file (keepalived-ts.lazy.js) loaded by that
// import(), with the packages only it needs (pino, koffi, …); modules both
// files use are the main bundle's, so each still runs once.
import { readFileSync, writeFileSync } from 'node:fs'
import { basename, dirname, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const entry = resolve(root, process.argv[2] ?? 'dist/cli/main.js')
const out = resolve(root, process.argv[3] ?? 'dist/cli/keepalived-ts.js')

const IMPORT = /^import\s+(?:([\w$]+)\s*,?\s*)?(?:\{([^}]*)\}|\*\s+as\s+([\w$]+))?\s*(?:from\s+)?'([^']+)';?[ \t]*$/gm
const EXPORT_FROM = /^export\s+(?:\*|\{([^}]*)\})\s+from\s+'([^']+)';?[ \t]*$/gm
const EXPORT_LIST = /^export\s+\{([^}]*)\};?[ \t]*$/gm
const EXPORT_DECL = /^export\s+(default\s+)?(async\s+function\*?|function\*?|class|const|let|var)\s+([\w$]+)/gm

const modules = new Map() // absolute path -> { id, file, code, deps, exts }
const externals = new Map() // specifier -> local name
const order = []

function fail(file, what) {
  throw new Error(`bundle-cli: ${relative(root, file)}: ${what}`)
}

/** `a, b as c` → [['a', 'a'], ['b', 'c']] (imported name, local name). */
function names(list) {
  return list.split(',').map((s) => s.trim()).filter(Boolean).map((s) => {
    const m = /^([\w$]+)(?:\s+as\s+([\w$]+))?$/.exec(s)
    if (!m) throw new Error(`bundle-cli: cannot read '${s}'`)
    return [m[1], m[2] ?? m[1]]
  })
}

function external(spec) {
  if (!externals.has(spec)) externals.set(spec, `__kats_ext${externals.size}`)
  return externals.get(spec)
}

function load(file, stack) {
  if (modules.has(file)) {
    if (stack.includes(file)) fail(file, `import cycle: ${stack.map((f) => relative(root, f)).join(' → ')}`)
    return modules.get(file).id
  }
  let code = readFileSync(file, 'utf8').replace(/^#!.*\n/, '').replace(/^\/\/# sourceMappingURL=.*$/m, '')
  if (/^(export\s+let\b|await\b)/m.test(code)) fail(file, 'export let or top-level await is not handled')
  const mod = { id: `__kats_m${modules.size}`, file, code: '', deps: [], exts: [] }
  modules.set(file, mod)
  const inner = [...stack, file]
  const target = (spec) => {
    if (!spec.startsWith('.')) {
      mod.exts.push(spec)
      return { ext: external(spec) }
    }
    const id = load(resolve(dirname(file), spec), inner)
    mod.deps.push(id)
    return { id }
  }
  // A package loaded with import() stays a real import(); a module of ours is
  // bundled and resolved after this one (a dynamic edge is no cycle in ESM).
  code = code.replace(/\bimport\(\s*'(\.[^']+)'\s*\)/g, (_, spec) => {
    const path = resolve(dirname(file), spec)
    dynamic.push(path)
    return `__KATS_DYNAMIC(${JSON.stringify(path)})`
  })
  if (/\bimport\s*\(\s*(?!'[^.'][^']*'\s*\))/.test(code)) fail(file, 'an import() the bundler does not know')
  const exportsOf = []
  const reexports = []
  code = code.replace(IMPORT, (_, def, list, ns, spec) => {
    const t = target(spec)
    const from = t.id ? `${t.id}()` : t.ext
    const lines = []
    if (def) lines.push(`const ${def} = ${from}.default;`)
    if (ns) lines.push(`const ${ns} = ${from};`)
    if (list !== undefined) {
      const n = names(list)
      if (n.length) lines.push(`const { ${n.map(([a, b]) => (a === b ? a : `${a}: ${b}`)).join(', ')} } = ${from};`)
    }
    return lines.join(' ')
  })
  code = code.replace(EXPORT_FROM, (_, list, spec) => {
    const t = target(spec)
    const from = t.id ? `${t.id}()` : t.ext
    if (list === undefined) reexports.push(from)
    else for (const [a, b] of names(list)) exportsOf.push([b, `${from}.${a}`])
    return ''
  })
  code = code.replace(EXPORT_LIST, (_, list) => {
    for (const [a, b] of names(list)) exportsOf.push([b, a])
    return ''
  })
  code = code.replace(/^export\s+default\s+([\w$]+);?[ \t]*$/gm, (_, name) => {
    exportsOf.push(['default', name])
    return ''
  })
  code = code.replace(EXPORT_DECL, (_, def, kind, name) => {
    exportsOf.push([def ? 'default' : name, name])
    return `${kind} ${name}`
  })
  if (/^\s*(import|export)\b/m.test(code)) fail(file, 'an import or export form the bundler does not know')
  // Getters keep ESM's live bindings; defined after the body, once every binding exists.
  const props = exportsOf.map(([name, local]) => `${JSON.stringify(name)}: { enumerable: true, get: () => ${local} }`)
  mod.code = [
    `// ${relative(root, file)}`,
    `let ${mod.id}$ns`,
    `function ${mod.id}() {`,
    `  if (${mod.id}$ns) return ${mod.id}$ns`,
    `  ${mod.id}$ns = {}`,
    code,
    ...reexports.map((r) => `for (const k of Object.keys(${r})) if (k !== 'default' && !(k in ${mod.id}$ns)) Object.defineProperty(${mod.id}$ns, k, { enumerable: true, get: () => ${r}[k] })`),
    `  Object.defineProperties(${mod.id}$ns, { ${props.join(', ')} })`,
    `  return ${mod.id}$ns`,
    `}`,
  ].join('\n')
  order.push(mod)
  return mod.id
}

const dynamic = []
const main = load(entry, [])
for (let i = 0; i < dynamic.length; i++) load(dynamic[i], [])

const byId = new Map([...modules.values()].map((m) => [m.id, m]))
/** A module and everything it imports statically. */
function closure(id, seen = new Set()) {
  if (seen.has(id)) return seen
  seen.add(id)
  for (const dep of byId.get(id).deps) closure(dep, seen)
  return seen
}
// What `main` reaches without an import() goes in the bundle; the rest (the
// daemon and its packages) in a second file, read only when one of those
// import()s runs: V8 compiles every byte of a module it loads, ~14 ms for the
// daemon's 700 KiB that `-t` never runs.
const eager = closure(main)
const lazyOut = out.replace(/\.js$/, '.lazy.js')
const lazySpec = `./${basename(lazyOut)}`
const inLazy = order.filter((m) => !eager.has(m.id))
for (const mod of order) {
  mod.code = mod.code.replace(/__KATS_DYNAMIC\(("[^"]+")\)/g, (_, path) => {
    const dep = modules.get(JSON.parse(path))
    if (eager.has(dep.id) || !eager.has(mod.id)) return `Promise.resolve().then(() => ${dep.id}())`
    return `import('${lazySpec}').then((lazy) => lazy.${dep.id}())`
  })
}
// Every module of the bundle that the second file names: its static and dynamic imports.
const shared = new Set(inLazy.flatMap((m) => m.code.match(/\b__kats_m\d+(?=\(\))/g) ?? []).filter((id) => eager.has(id)))
const importsOf = (mods) => [...new Set(mods.flatMap((m) => m.exts))].map((spec) => `import * as ${externals.get(spec)} from '${spec}';`)
const header = readFileSync(entry, 'utf8').match(/^#!.*\n/)?.[0] ?? ''
const eagerMods = order.filter((m) => eager.has(m.id))
const text = [
  header + `// Generated by scripts/bundle-cli.mjs from ${relative(root, entry)}. Do not edit.`,
  ...importsOf(eagerMods),
  ...eagerMods.map((m) => m.code),
  ...(shared.size ? [`export { ${[...shared].join(', ')} }`] : []),
  `${main}()`,
].join('\n')
writeFileSync(out, text)
console.log(`bundle-cli: ${eagerMods.length} modules → ${relative(root, out)} (${(text.length / 1024).toFixed(0)} KiB)`)
if (inLazy.length) {
  const lazyText = [
    `// Generated by scripts/bundle-cli.mjs: what ${relative(root, entry)} loads with import(). Do not edit.`,
    ...importsOf(inLazy),
    ...(shared.size ? [`import { ${[...shared].join(', ')} } from './${basename(out)}';`] : []),
    ...inLazy.map((m) => m.code),
    `export { ${inLazy.map((m) => m.id).join(', ')} }`,
  ].join('\n')
  writeFileSync(lazyOut, lazyText)
  console.log(`bundle-cli: ${inLazy.length} modules → ${relative(root, lazyOut)} (${(lazyText.length / 1024).toFixed(0)} KiB)`)
}
