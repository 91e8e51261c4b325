// Builds the on-screen keyboard's pinyin dictionary from @pinyin-pro/data (the word list with
// frequencies that pinyin-pro's maintainers publish; its "complete" list, which unlike "modern" has
// place names such as 北京 and office names such as 教育局) at build time, so the kiosk ships a
// compact pinyin → Hanzi index instead of the 18 MB source.
//
// Characters are those of GB 2312 (the 6,763 characters of everyday Simplified Chinese). A
// character's frequency under each of its readings is the sum of the frequencies of the dictionary
// words it occurs in under that reading (a single-character word counts too), so 教 under "jiao" is
// ranked by 教育, 教师, 教学 …. Readings that no word shows come from pinyin-pro and rank last.
// Words are the two-or-more-character entries whose characters are all in GB 2312, most frequent
// first, cut at MAX_WORDS.
//
// Output (one string, lines separated by "\n"):
//   C<TAB><all characters, most frequent first>
//   S<TAB><syllable><TAB><characters with that reading, most frequent first>   (one line per syllable)
//   R<TAB><character><syllable> … separated by spaces   (the main reading of each character with several)
//   W<TAB><word><TAB><syllables separated by spaces>                           (most frequent first)
// Syllables are toneless lower case with ü written as v.

import complete from '@pinyin-pro/data/complete'
import { pinyin } from 'pinyin-pro'

/** How many words the kiosk dictionary keeps (the most frequent ones). */
export const MAX_WORDS = 20000

/** The GB 2312 Hanzi, level 1 (by pinyin) then level 2 (by radical). */
function gb2312() {
  let dec
  try {
    dec = new TextDecoder('gbk')
  } catch (e) {
    throw new Error(`the keyboard dictionary needs a node with full ICU (TextDecoder 'gbk'): ${e.message}`)
  }
  const out = []
  for (let hi = 0xb0; hi <= 0xf7; hi++) {
    for (let lo = 0xa1; lo <= 0xfe; lo++) {
      if (hi === 0xd7 && lo > 0xf9) continue // level 1 ends at D7F9
      const ch = dec.decode(new Uint8Array([hi, lo]))
      if (ch.length === 1 && ch !== '\ufffd') out.push(ch)
    }
  }
  return out
}

/** Toneless syllable, ü as v. */
function toneless(s) {
  return s
    .normalize('NFD')
    .replace(/\u0308/g, '\u0001') // keep the diaeresis apart from the tone marks
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/u\u0001/g, 'v')
    .replace(/\u0001/g, '')
    .replace(/ü/g, 'v')
    .toLowerCase()
}

/** Returns the dictionary text (see the file comment for its format). */
export function buildKeyboardDict() {
  const chars = gb2312()
  const inSet = new Set(chars)
  const order = new Map(chars.map((c, i) => [c, i]))
  /** char → syllable → frequency */
  const readingFreq = new Map()
  const charFreq = new Map()
  const words = []
  for (const [word, [py, freq]] of Object.entries(complete)) {
    const cs = [...word]
    if (!cs.every((c) => inSet.has(c))) continue
    const syl = py.split(/\s+/).map(toneless)
    if (syl.length !== cs.length || !syl.every((s) => /^[a-z]+$/.test(s))) continue
    cs.forEach((c, i) => {
      let m = readingFreq.get(c)
      if (!m) readingFreq.set(c, (m = new Map()))
      m.set(syl[i], (m.get(syl[i]) ?? 0) + freq)
      charFreq.set(c, (charFreq.get(c) ?? 0) + freq)
    })
    if (cs.length >= 2) words.push({ word, syl, freq })
  }
  // Readings no word shows (rare readings, characters missing from the word list).
  for (const c of chars) {
    const all = pinyin(c, { toneType: 'none', type: 'array', multiple: true, v: true })
    let m = readingFreq.get(c)
    if (!m) readingFreq.set(c, (m = new Map()))
    for (const s of all) if (/^[a-z]+$/.test(s) && !m.has(s)) m.set(s, 0)
  }
  const byFreq = (a, b) => (charFreq.get(b) ?? 0) - (charFreq.get(a) ?? 0) || order.get(a) - order.get(b)
  const ranked = [...chars].sort(byFreq)
  const bySyl = new Map()
  for (const c of ranked) {
    for (const [s, f] of readingFreq.get(c) ?? []) {
      if (!bySyl.has(s)) bySyl.set(s, [])
      bySyl.get(s).push({ c, f })
    }
  }
  const lines = [`C\t${ranked.join('')}`]
  for (const s of [...bySyl.keys()].sort()) {
    const list = bySyl.get(s).sort((a, b) => b.f - a.f || byFreq(a.c, b.c))
    lines.push(`S\t${s}\t${list.map((x) => x.c).join('')}`)
  }
  const main = []
  for (const c of ranked) {
    const m = readingFreq.get(c)
    if (!m || m.size < 2) continue
    const [s] = [...m].sort((a, b) => b[1] - a[1])[0]
    main.push(c + s)
  }
  lines.push(`R\t${main.join(' ')}`)
  words.sort((a, b) => b.freq - a.freq)
  for (const w of words.slice(0, MAX_WORDS)) lines.push(`W\t${w.word}\t${w.syl.join(' ')}`)
  return lines.join('\n')
}
