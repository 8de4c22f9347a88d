/** In-memory configuration files for tests: one helper instead of one per test file. */
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
