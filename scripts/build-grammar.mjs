// Compiles grammar/keepalived.ne into src/config/grammar.generated.ts (not committed).
import { execFileSync } from 'node:child_process'
import { readFileSync, writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'

const root = fileURLToPath(new URL('..', import.meta.url))
const out = `${root}src/config/grammar.generated.ts`
execFileSync(process.execPath, [`${root}node_modules/nearley/bin/nearleyc.js`, `${root}grammar/keepalived.ne`, '-o', out], { stdio: 'inherit' })
// nearleyc's TypeScript output predates strict mode; the grammar's own code is typed above it.
writeFileSync(out, '// @ts-nocheck\n// Generated from grammar/keepalived.ne by scripts/build-grammar.mjs. Do not edit.\n' + readFileSync(out, 'utf8'))
