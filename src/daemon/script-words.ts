/**
 * A script line's words. keepalived keeps `notify "/bin/x a 'b c'"` as one
 * string and splits it into argv itself (no shell): blanks separate words,
 * single quotes keep everything literal, double quotes keep blanks and honour
 * `\"` and `\\`, a backslash outside quotes takes the next character literally.
 */
export function splitScriptWords(command: string): string[] {
  const words: string[] = []
  let word = ''
  let inWord = false
  let quote: '"' | "'" | undefined
  for (let i = 0; i < command.length; i++) {
    const ch = command[i]!
    if (quote === "'") {
      if (ch === "'") quote = undefined
      else word += ch
      continue
    }
    if (quote === '"') {
      if (ch === '"') quote = undefined
      else if (ch === '\\' && (command[i + 1] === '"' || command[i + 1] === '\\')) word += command[++i]
      else word += ch
      continue
    }
    if (ch === ' ' || ch === '\t') {
      if (inWord) words.push(word)
      word = ''
      inWord = false
      continue
    }
    inWord = true
    if (ch === "'" || ch === '"') quote = ch
    else if (ch === '\\' && i + 1 < command.length) word += command[++i]
    else word += ch
  }
  if (inWord) words.push(word)
  return words
}
