/**
 * One cold pass of the configuration front end over FILE, phase by phase, as
 * JSON on stdout (milliseconds; rssMb at the end). Spawned by bench/parse.mjs
 * --phases in a fresh process per run, so the JIT is as cold as the CLI's.
 *
 *   node bench/parse-phases.mjs FILE
 */
import { performance } from 'node:perf_hooks'

const file = process.argv[2]
const t0 = performance.now()
const { Diagnostics } = await import('../dist/config/diagnostics.js')
const { preprocessInto } = await import('../dist/config/preprocess.js')
const { Lexer } = await import('../dist/config/lexer.js')
const { balanceBraces, parseTokens } = await import('../dist/config/tree.js')
const { buildConfig } = await import('../dist/config/config.js')
const t1 = performance.now()
const diags = new Diagnostics()
const lexer = new Lexer(diags)
const { files } = preprocessInto(file, diags, { configId: 'bench' }, lexer)
const tokens = lexer.finish()
const t2 = performance.now()
const balanced = lexer.balanced ? tokens : balanceBraces(tokens, diags)
const t3 = performance.now()
const results = parseTokens(balanced)
const t4 = performance.now()
buildConfig(results[0] ?? [], files, diags, { interfaces: undefined })
const t5 = performance.now()
console.log(JSON.stringify({
  import: t1 - t0,
  preprocessAndLex: t2 - t1,
  balance: t3 - t2,
  parse: t4 - t3,
  build: t5 - t4,
  frontEnd: t4 - t1,
  rssMb: process.memoryUsage().rss / 2 ** 20,
}))
