// Measures the on-screen keyboard's pinyin engine: building the index from the dictionary, and one
// candidate lookup per keystroke while typing realistic buffers letter by letter (full pinyin,
// initials, long phrases). Prints the figures the README quotes.
//
// Usage (from kiosk-ui/):  node e2e/ime-bench.mjs

import { loadIme } from './ime-load.mjs'

const { PinyinIme, dict, stationVocabulary, close } = await loadIme()
let t = performance.now()
const ime = new PinyinIme(dict)
const buildMs = performance.now() - t
ime.addStationWords(stationVocabulary.map((text) => ({ text, syllables: ime.pinyinOf(text) })).filter((w) => w.syllables))

const inputs = [
  'jiaoyuju', 'diqu', 'jyj', 'shehuibaozhangju', 'zhonghuarenmingongheguo', 'changchunshichaoyangqu',
  'banliju zhuzheng', 'zinvruxue', 'gongjijintiqu', 'sqzm', 'zhshchzhshch', 'xian', 'fangan', 'wo', 'de',
  'shenfenzheng', 'minzhengju', 'paichusuo', 'hukouben', 'yiliaobaoxian', 'zgrmyh', 'bjs', 'xyzwqlmn',
].map((s) => s.replace(/\s+/g, ''))

/** Types every input letter by letter once; returns the lookup times in ms, sorted. */
function round() {
  const times = []
  for (const s of inputs) {
    for (let i = 1; i <= s.length; i++) {
      const t0 = performance.now()
      ime.lookup(s.slice(0, i))
      times.push(performance.now() - t0)
    }
  }
  return times.sort((a, b) => a - b)
}
const stats = (times) => {
  const q = (p) => times[Math.min(times.length - 1, Math.floor(p * times.length))].toFixed(2)
  return `median ${q(0.5)} ms, p99 ${q(0.99)} ms, max ${times.at(-1).toFixed(2)} ms (${times.length} lookups)`
}
const cold = round() // the first time through: nothing compiled or cached yet
const warm = []
for (let r = 0; r < 5; r++) warm.push(...round())
warm.sort((a, b) => a - b)
console.log(`dictionary: ${dict.length} characters of text, ${ime.wordCount} words; index built in ${buildMs.toFixed(0)} ms`)
console.log(`lookup per keystroke, first round: ${stats(cold)}`)
console.log(`lookup per keystroke, later rounds: ${stats(warm)}`)
await close()
