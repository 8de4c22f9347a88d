/**
 * Stand-in for `keepalived-ts -t -f FILE` while dist/cli/main.js does not
 * exist: loads the configuration and exits with keepalived's config-test code.
 *
 *   node bench/load-config.mjs -t -f FILE
 */
import { loadConfig } from '../dist/config/config.js'
import { exitCodeFor } from '../dist/config/diagnostics.js'

const file = process.argv[process.argv.indexOf('-f') + 1]
const { diagnostics } = loadConfig(file)
process.exitCode = exitCodeFor(diagnostics.list)
