// Unit checks of the on-screen keyboard's pinyin engine over the real dictionary: syllable
// splitting, candidate order, initials, station words. Prints "N passed, M failed".
//
// Usage (from kiosk-ui/):  node e2e/ime-check.mjs

import { loadIme } from './ime-load.mjs'

const { PinyinIme, dict, close } = await loadIme()
const ime = new PinyinIme(dict)
const withStation = new PinyinIme(dict)
for (const text of ['社保中心', '民政局']) withStation.addStationWords([{ text, syllables: withStation.pinyinOf(text) }])

let passed = 0
let failed = 0
function check(name, fn) {
  try {
    fn()
    passed++
    console.log(`ok   ${name}`)
  } catch (e) {
    failed++
    console.log(`FAIL ${name}: ${e.message}`)
  }
}
function eq(got, want, what) {
  if (JSON.stringify(got) !== JSON.stringify(want)) throw new Error(`${what}: got ${JSON.stringify(got)}, want ${JSON.stringify(want)}`)
}
const texts = (buf, n = 10) => ime.lookup(buf).slice(0, n).map((c) => c.text)
const before = (list, a, b) => {
  const i = list.indexOf(a)
  const j = list.indexOf(b)
  if (i < 0 || (j >= 0 && j < i)) throw new Error(`${a} should come before ${b} in ${list.join(' ')}`)
}

check('the dictionary has the common words and characters', () => {
  if (ime.wordCount < 15000) throw new Error(`only ${ime.wordCount} words`)
  for (const s of ['a', 'zhuang', 'lv', 'nv', 'er']) if (!ime.isSyllable(s)) throw new Error(`no syllable ${s}`)
})
check('splits full pinyin into syllables', () => {
  eq(ime.split('diqu')[0], ['di', 'qu'], 'diqu')
  eq(ime.split('zhongguo')[0], ['zhong', 'guo'], 'zhongguo')
  eq(ime.split('shehuibaozhang')[0], ['she', 'hui', 'bao', 'zhang'], 'shehuibaozhang')
})
check("an apostrophe forces a syllable break (xi'an)", () => eq(ime.split("xi'an")[0], ['xi', 'an'], "xi'an"))
check('an ambiguous buffer keeps both splits (fangan)', () => {
  const s = ime.split('fangan').map((x) => x.join(' '))
  if (!s.includes('fang an') || !s.includes('fan gan')) throw new Error(s.join(' / '))
})
check('initials split letter by letter (jyj)', () => eq(ime.split('jyj')[0], ['j', 'y', 'j'], 'jyj'))
check('letters that are no pinyin give no candidates', () => eq(ime.lookup('iii'), [], 'iii'))
check('full pinyin: the word first (diqu → 地区, jiaoyu → 教育, zhongguo → 中国)', () => {
  eq(texts('diqu', 1), ['地区'], 'diqu')
  eq(texts('jiaoyu', 1), ['教育'], 'jiaoyu')
  eq(texts('zhongguo', 1), ['中国'], 'zhongguo')
})
check('both words of an ambiguous split are offered (fangan → 方案, 反感)', () => {
  const t = texts('fangan', 4)
  if (!t.includes('方案') || !t.includes('反感')) throw new Error(t.join(' '))
})
check('characters of the first syllable follow, using only its letters', () => {
  const all = ime.lookup('jiaoyu')
  const jiao = all.find((c) => c.text === '教')
  eq(jiao && jiao.consumed, 4, '教 stands for jiao')
})
check('characters are ordered by everyday frequency (的 first for de, common before rare)', () => {
  eq(texts('de', 1), ['的'], 'de')
  before(texts('jiao', 30), '教', '窖')
  before(texts('shi', 30), '是', '谥')
  before(texts('ma', 30), '吗', '蚂')
})
check('ü is typed as v (nv → 女, lv → 绿 among the first)', () => {
  eq(texts('nv', 1), ['女'], 'nv')
  if (!texts('lv', 8).includes('绿')) throw new Error(texts('lv', 8).join(' '))
})
check('initials give words (sqzm: 申请 among the first; jy: 教育)', () => {
  if (!texts('sq', 10).includes('社区')) throw new Error(`sq: ${texts('sq', 10).join(' ')}`)
  if (!texts('jy', 10).includes('教育')) throw new Error(`jy: ${texts('jy', 10).join(' ')}`)
})
check('whole syllables and initials mix (jiaoyj → 教育局)', () => eq(texts('jiaoyj', 1), ['教育局'], 'jiaoyj'))
check('place and office names are words (beijing → 北京, jiaoyuju → 教育局, paichusuo → 派出所)', () => {
  eq(texts('beijing', 1), ['北京'], 'beijing')
  eq(texts('jiaoyuju', 1), ['教育局'], 'jiaoyuju')
  eq(texts('paichusuo', 1), ['派出所'], 'paichusuo')
})
check('a phrase is put together when no word covers the buffer (shequjuweihui → 社区居委会)', () => {
  const all = ime.lookup('shequjuweihui')
  eq(all[0]?.text, '社区居委会', 'shequjuweihui')
  eq(all[0]?.consumed, 'shequjuweihui'.length, 'the phrase uses the whole buffer')
})
check('station words come first, by initials too (mzj → 民政局, sbzx → 社保中心)', () => {
  if (ime.lookup('mzj')[0]?.text === '民政局') throw new Error('民政局 is already first without the station words: pick another check')
  eq(withStation.lookup('mzj')[0]?.text, '民政局', 'mzj')
  eq(withStation.lookup('sbzx')[0]?.text, '社保中心', 'sbzx')
  eq(withStation.lookup('shebaozhongxin')[0]?.text, '社保中心', 'shebaozhongxin')
})
check('pinyinOf reads a character as in the word around it (银行 → yin hang)', () => {
  eq(ime.pinyinOf('银行'), ['yin', 'hang'], '银行')
  eq(ime.pinyinOf('行走'), ['xing', 'zou'], '行走')
  eq(ime.pinyinOf('居住证明'), ['ju', 'zhu', 'zheng', 'ming'], '居住证明')
  eq(ime.pinyinOf('A1'), null, 'not Hanzi')
})

await close()
console.log(`${passed} passed, ${failed} failed`)
process.exitCode = failed ? 1 : 0
