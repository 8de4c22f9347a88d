/** In-memory configuration files for tests: one helper instead of one per test file. */
import { loadConfig, type LoadResult } from '../../src/config/config.js'
import { type Diagnostic, sortDiagnostics } from '../../src/config/diagnostics.js'
import type { ConfigFiles } from '../../src/config/preprocess.js'

/** Files by absolute path; `glob` understands `*` within the tree, enough for include tests. */
export function memFiles(files: Record<string, string>): ConfigFiles {
  return {
    read: (p) => {
      const c = files[p]
      if (c === undefined) throw Object.assign(new Error('ENOENT'), { code: 'ENOENT' })
      return c
    },
    glob: (pattern, cwd) => {
      const full = pattern.startsWith('/') ? pattern : `${cwd}/${pattern}`
      const re = new RegExp('^' + full.replace(/[.]/g, '\\.').replace(/\*/g, '[^/]*') + '$')
      return Object.keys(files).filter((f) => re.test(f)).sort()
    },
  }
}

/** `text` loaded as the one file /k.conf (config-id `main`); `interfaces`, when given, are the host's. */
export function loadText(text: string, interfaces?: readonly string[]): LoadResult {
  return loadConfig('/k.conf', { configId: 'main', files: memFiles({ '/k.conf': text }), host: { interfaces: interfaces && new Set(interfaces) } })
}

/** The VRRP model of `text` and every diagnostic. */
export function loadVrrp(text: string, interfaces?: readonly string[]) {
  const r = loadText(text, interfaces)
  return { vrrp: r.config.vrrp, diags: r.diagnostics.list }
}

/** The diagnostics keepalived would count, in file order, as [line, severity, message]. */
export function problems(diags: readonly Diagnostic[]): [number | undefined, string, string][] {
  return sortDiagnostics(diags).filter((d) => d.verdict !== 'none').map((d) => [d.pos?.line, d.severity, d.message])
}
