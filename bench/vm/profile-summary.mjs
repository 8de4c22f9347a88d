/**
 * The functions with the most self time in V8 CPU profiles (`node
 * --cpu-prof`), for the benchmarks' `--profile`: one line per function,
 * milliseconds and share of the samples, paths shortened to dist/… and
 * node_modules/….
 *
 *   node bench/vm/profile-summary.mjs DIR [TOP]
 */
import { readdirSync, readFileSync } from 'node:fs'

/** @returns {{ file: string, totalMs: number, top: { ms: number, share: number, name: string }[] }[]} */
export function summarizeProfiles(dir, top = 30) {
  return readdirSync(dir).filter((f) => f.endsWith('.cpuprofile')).map((file) => {
    const profile = JSON.parse(readFileSync(`${dir}/${file}`, 'utf8'))
    const byId = new Map(profile.nodes.map((n) => [n.id, n]))
    const self = new Map()
    profile.samples.forEach((id, i) => {
      const cf = byId.get(id).callFrame
      const name = `${cf.functionName || '(anonymous)'} ${cf.url.replace(/^.*\/(dist|node_modules)\//, '$1/')}:${cf.lineNumber + 1}`
      self.set(name, (self.get(name) ?? 0) + (profile.timeDeltas[i] ?? 0))
    })
    const total = [...self.values()].reduce((x, y) => x + y, 0)
    return {
      file,
      totalMs: total / 1000,
      top: [...self].sort((x, y) => y[1] - x[1]).slice(0, top).map(([name, us]) => ({ ms: us / 1000, share: us / total, name })),
    }
  })
}

if (import.meta.url === `file://${process.argv[1]}`) {
  for (const p of summarizeProfiles(process.argv[2], Number(process.argv[3] ?? 30))) {
    console.log(`${p.file}: ${p.totalMs.toFixed(0)} ms sampled`)
    for (const t of p.top) console.log(`${t.ms.toFixed(0).padStart(8)} ${(t.share * 100).toFixed(1).padStart(5)} %  ${t.name}`)
  }
}
