import t from 'tap'
import { Diagnostics } from '../../src/config/diagnostics.js'
import { preprocess, type ConfigFiles } from '../../src/config/preprocess.js'

function memFiles(files: Record<string, string>): ConfigFiles {
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

function lines(text: string, configId = 'main', extra: Record<string, string> = {}) {
  const d = new Diagnostics()
  const r = preprocess('/etc/k.conf', d, { configId, files: memFiles({ '/etc/k.conf': text, ...extra }), random: () => 0.5 })
  return { texts: r.lines.map((l) => l.text), lines: r.lines, diags: d.list }
}

t.test('comments outside double quotes are stripped', async (t) => {
  t.same(lines('router_id R1   # note\nnotify "/bin/echo a#b" ! c\n').texts, ['router_id R1', 'notify "/bin/echo a#b"'])
})

t.test('@id and @^id select lines by config id', async (t) => {
  const src = '@main priority 103\n@^main priority 102\n@backup x\n@^backup y\n'
  t.same(lines(src, 'main').texts, ['priority 103', 'y'])
  t.same(lines(src, 'backup').texts, ['priority 102', 'x'])
})

t.test('$NAME definitions, recursion at use time, undefined names stay', async (t) => {
  const src = '$ADDRESS_BASE=10.2.${ADDRESS_BASE_SUB}\n$ADDRESS_BASE_SUB=0\n${ADDRESS_BASE}.100/32\n$ADDRESS_BASE_SUB=10\n${ADDRESS_BASE}.100/32\necho $UNDEF ${UNDEF}\n'
  t.same(lines(src).texts, ['10.2.0.100/32', '10.2.10.100/32', 'echo $UNDEF ${UNDEF}'])
})

t.test('multi-line definitions expand to several lines, with conditionals inside', async (t) => {
  const src = ['$BLOCK= \\', 'virtual_ipaddress { \\', '  ${VIPBASE}.50/32 \\', '  @main 10.0.0.1 \\', '}', '$VIPBASE=10.8.0', '$BLOCK'].join('\n')
  t.same(lines(src).texts, ['virtual_ipaddress {', '${VIPBASE}.50/32', '@main 10.0.0.1', '}'].map((x) => x.replace('${VIPBASE}', '10.8.0').replace('@main ', '')))
})

t.test('~SEQ and ~LST', async (t) => {
  t.same(lines('~SEQ(N, 1, 3) 10.8.0.1${N}/32').texts, ['10.8.0.11/32', '10.8.0.12/32', '10.8.0.13/32'])
  t.same(lines('~SEQx(S, 0x90, 0x10, 0xc0) fe80::${S}').texts, ['fe80::90', 'fe80::a0', 'fe80::b0', 'fe80::c0'])
  t.same(lines('~LST({IP, IP1}, {10,1},{20,4}) 192.168.${IP}.${IP1}').texts, ['192.168.10.1', '192.168.20.4'])
  t.same(lines('~LST(A, 1, 2) ~LST(B, x, y) ${A}${B}').texts, ['1x', '1y', '2x', '2y'])
  t.equal(lines('~SEQ(N, 1, 0, 3) x').diags[0]?.code, 'KA_CONF_SEQUENCE')
})

t.test('include is relative to the including file and keeps positions', async (t) => {
  const r = lines('a\ninclude conf.d/*.conf\nb\n', 'main', { '/etc/conf.d/1.conf': 'one\n\n  two\n' })
  t.same(r.texts, ['a', 'one', 'two', 'b'])
  t.match(r.lines[2], { file: '/etc/conf.d/1.conf', line: 3, col: 3 })
  const missing = lines('include nothing/*.conf\n')
  t.equal(missing.diags[0]?.code, 'KA_CONF_INCLUDE')
  t.match(missing.diags[0]?.pos, { file: '/etc/k.conf', line: 1 })
})
