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
import { readFileSync, writeFileSync } from 'node:fs'
import { dirname, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const entry = resolve(root, process.argv[2] ?? 'dist/cli/main.js')
const out = resolve(root, process.argv[3] ?? 'dist/cli/keepalived-ts.js')

const IMPORT = /^import\s+(?:([\w$]+)\s*,?\s*)?(?:\{([^}]*)\}|\*\s+as\s+([\w$]+))?\s*(?:from\s+)?'([^']+)';?[ \t]*$/gm
const EXPORT_FROM = /^export\s+(?:\*|\{([^}]*)\})\s+from\s+'([^']+)';?[ \t]*$/gm
const EXPORT_LIST = /^export\s+\{([^}]*)\};?[ \t]*$/gm
const EXPORT_DECL = /^export\s+(default\s+)?(async\s+function\*?|function\*?|class|const|let|var)\s+([\w$]+)/gm

const modules = new Map() // absolute path -> { id, deps, code }
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
  if (/^(export\s+let\b|await\b)|\bimport\s*\(/m.test(code)) fail(file, 'export let, top-level await or import() is not handled')
  const mod = { id: `__kats_m${modules.size}`, file, code: '' }
  modules.set(file, mod)
  const inner = [...stack, file]
  const target = (spec) => (spec.startsWith('.') ? { id: load(resolve(dirname(file), spec), inner) } : { ext: external(spec) })
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

const main = load(entry, [])
const header = readFileSync(entry, 'utf8').match(/^#!.*\n/)?.[0] ?? ''
const text = [
  header + `// Generated by scripts/bundle-cli.mjs from ${relative(root, entry)}. Do not edit.`,
  ...[...externals].map(([spec, local]) => `import * as ${local} from '${spec}';`),
  ...order.map((m) => m.code),
  `${main}()`,
].join('\n')
writeFileSync(out, text)
console.log(`bundle-cli: ${order.length} modules → ${relative(root, out)} (${(text.length / 1024).toFixed(0)} KiB)`)
