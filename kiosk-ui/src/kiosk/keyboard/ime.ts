// The on-screen keyboard's pinyin engine: splits what the resident typed (a pinyin buffer such as
// "diqu", "jiaoyuj" or "jyj") into syllables and initials and returns the Chinese words and
// characters it can stand for, best first. Pure TypeScript over a dictionary string (built from
// @pinyin-pro/data by build/kbd-dict.mjs) plus the station's own words; no DOM, so node tests load it.

/** A candidate for the buffer: the text to insert and how many buffer letters it uses up. */
export interface Candidate {
  text: string
  /** Letters of the buffer this candidate stands for (from the start); the rest stays in the buffer. */
  consumed: number
}

/** A word the station adds to the dictionary (a matter or department name), with its syllables. */
export interface StationWord {
  text: string
  /** Toneless syllables, one per character, ü written as v. */
  syllables: string[]
}

interface Entry {
  text: string
  syl: string[]
  /** Lower is better: station words are negative, dictionary words their frequency rank. */
  rank: number
}

interface Token {
  s: string
  /** A whole syllable; otherwise an initial or (at the end of the buffer) the start of a syllable. */
  full: boolean
}

const INITIALS = new Set(['b', 'p', 'm', 'f', 'd', 't', 'n', 'l', 'g', 'k', 'h', 'j', 'q', 'x', 'zh', 'ch', 'sh', 'r', 'z', 'c', 's', 'y', 'w'])
/** At most this many ways to split one buffer are tried. */
const MAX_SPLITS = 24
/** Characters offered for an initial or a syllable's start ("zh"), most frequent first. */
const MAX_INITIAL_CHARS = 60
/** At most this many candidates are returned. */
const MAX_CANDIDATES = 120

/** PinyinIme looks up pinyin in a dictionary built once from the keyboard dictionary text. */
export class PinyinIme {
  private readonly syllables = new Set<string>()
  private readonly prefixes = new Set<string>()
  private readonly charsBySyl = new Map<string, string[]>()
  private readonly charRank = new Map<string, number>()
  /** Each character's main reading (the most frequent one). */
  private readonly reading = new Map<string, string>()
  private readonly charsByPrefix = new Map<string, string[]>()
  /** Words by the first letters of their syllables ("dq" for 地区). */
  private readonly words = new Map<string, Entry[]>()
  private readonly known = new Map<string, Entry>()
  private stationCount = 0
  /** The most syllables of any word. */
  private longest = 1
  /** wordsFor results during one lookup (splits share their starts). */
  private memo: Map<string, Entry[]> | null = null

  /** Builds the index from the text build/kbd-dict.mjs writes (C, S and W lines). */
  constructor(dict: string) {
    let rank = 0
    for (const line of dict.split('\n')) {
      const [tag, a, b] = line.split('\t')
      if (tag === 'C') {
        ;[...a].forEach((c, i) => this.charRank.set(c, i))
      } else if (tag === 'S') {
        this.addSyllable(a)
        this.charsBySyl.set(a, [...b])
        for (const c of b) if (!this.reading.has(c)) this.reading.set(c, a)
      } else if (tag === 'R') {
        for (const cs of a.split(' ')) if (cs) this.reading.set(cs[0], cs.slice(1))
      } else if (tag === 'W') {
        this.addEntry({ text: a, syl: b.split(' '), rank: rank++ })
      }
    }
    for (const list of this.words.values()) list.sort((x, y) => x.rank - y.rank)
    // Initials alone ("j", "zh") are typed often and merge many syllables: index them now.
    for (const i of INITIALS) this.charsFor({ s: i, full: false })
  }

  /** The number of dictionary and station words (for the README's figures and the tests). */
  get wordCount(): number {
    return this.known.size
  }

  /**
   * Adds station words (matter and department names): they come before dictionary words of the same
   * pinyin, in the order given. Words with characters the syllables do not cover are skipped.
   */
  addStationWords(list: StationWord[]): void {
    const touched = new Set<Entry[]>()
    for (const w of list) {
      const syl = w.syllables.map((s) => s.toLowerCase())
      if ([...w.text].length !== syl.length || syl.length < 2 || !syl.every((s) => this.syllables.has(s))) continue
      const rank = -1_000_000 + this.stationCount++
      const old = this.known.get(w.text)
      if (old) {
        old.rank = Math.min(old.rank, rank)
        touched.add(this.words.get(initials(old.syl))!)
        continue
      }
      touched.add(this.addEntry({ text: w.text, syl, rank }))
    }
    for (const list of touched) list.sort((x, y) => x.rank - y.rank)
  }

  /**
   * The toneless syllables of a Chinese text, reading each character as in the longest dictionary
   * word that covers it (so 银行 is yin hang) and otherwise by its main reading; null when a
   * character is not in the dictionary (not Hanzi, or rare).
   */
  pinyinOf(text: string): string[] | null {
    const cs = [...text]
    const out: string[] = []
    for (let i = 0; i < cs.length; ) {
      let step = 0
      for (let k = Math.min(cs.length - i, 8); k >= 2 && !step; k--) {
        const e = this.known.get(cs.slice(i, i + k).join(''))
        if (e && e.rank >= 0) {
          out.push(...e.syl)
          step = k
        }
      }
      if (!step) {
        const s = this.reading.get(cs[i])
        if (!s) return null
        out.push(s)
        step = 1
      }
      i += step
    }
    return out
  }

  /** Whether s is a whole toneless syllable ("jiao", "lv"). */
  isSyllable(s: string): boolean {
    return this.syllables.has(s)
  }

  /**
   * The ways to split buf into syllables and initials, most natural first (longest syllable first
   * from the left). A buffer that cannot be split to its end gives its longest splittable start.
   */
  split(buf: string): string[][] {
    return this.segment(buf.toLowerCase()).map((ts) => ts.map((t) => t.s))
  }

  /**
   * Candidates for the pinyin buffer, best first: words that stand for the whole buffer (whole
   * syllables before abbreviations, then by frequency, station words first), a phrase put together
   * from the best words when no single word covers it, then words and characters for its start.
   */
  lookup(buffer: string): Candidate[] {
    const buf = buffer.toLowerCase().replace(/[^a-z']/g, '')
    if (!buf) return []
    const splits = this.segment(buf)
    this.memo = new Map()
    type Scored = Candidate & { partial: number; tokens: number; rank: number; composed: boolean }
    const best = new Map<string, Scored>()
    const better = (a: Scored, b: Scored) =>
      b.consumed - a.consumed || Number(a.composed) - Number(b.composed) || a.partial - b.partial || a.tokens - b.tokens || a.rank - b.rank
    const offer = (c: Scored) => {
      const old = best.get(c.text)
      if (!old || better(c, old) < 0) best.set(c.text, c)
    }
    // Splits often share their start: each start is looked up once.
    const seen = new Set<string>()
    for (const { tokens, ends } of splits.map((ts) => ({ tokens: ts, ends: offsets(buf, ts) }))) {
      for (let k = Math.min(tokens.length, this.longest); k >= 1; k--) {
        const head = tokens.slice(0, k)
        const key = tokenKey(head)
        if (seen.has(key)) continue
        seen.add(key)
        const partial = head.filter((t) => !t.full).length
        for (const e of this.wordsFor(head)) offer({ text: e.text, consumed: ends[k - 1], partial, tokens: k, rank: e.rank, composed: false })
        if (k === 1) {
          // An initial stands for hundreds of characters: the most frequent ones are enough.
          const cs = this.charsFor(head[0])
          const n = head[0].full ? cs.length : Math.min(cs.length, MAX_INITIAL_CHARS)
          for (let i = 0; i < n; i++) offer({ text: cs[i], consumed: ends[0], partial, tokens: 1, rank: i, composed: false })
        }
      }
    }
    if (splits.length) {
      const phrase = this.compose(splits[0])
      const ends = offsets(buf, splits[0])
      if (phrase && !best.has(phrase)) {
        offer({ text: phrase, consumed: ends[ends.length - 1], partial: 0, tokens: splits[0].length, rank: 0, composed: true })
      }
    }
    this.memo = null
    return [...best.values()]
      .sort(better)
      .slice(0, MAX_CANDIDATES)
      .map(({ text, consumed }) => ({ text, consumed }))
  }

  private addSyllable(s: string) {
    this.syllables.add(s)
    for (let i = 1; i <= s.length; i++) this.prefixes.add(s.slice(0, i))
  }

  private addEntry(e: Entry): Entry[] {
    const key = initials(e.syl)
    let list = this.words.get(key)
    if (!list) this.words.set(key, (list = []))
    list.push(e)
    this.known.set(e.text, e)
    this.longest = Math.max(this.longest, e.syl.length)
    return list
  }

  private segment(buf: string): Token[][] {
    const out: Token[][] = []
    let steps = 0
    const walk = (i: number, acc: Token[]) => {
      if (out.length >= MAX_SPLITS || ++steps > 4000) return
      if (i < buf.length && buf[i] === "'") return walk(i + 1, acc) // an explicit syllable break
      if (i >= buf.length) {
        if (acc.length) out.push(acc)
        return
      }
      let moved = false
      for (let len = Math.min(6, buf.length - i); len >= 1; len--) {
        const piece = buf.slice(i, i + len)
        if (piece.includes("'")) continue
        const end = i + len === buf.length || buf[i + len] === "'"
        // "m" and "n" are syllables (呒, 嗯) and initials: try both.
        const toks: Token[] = []
        if (this.syllables.has(piece)) toks.push({ s: piece, full: true })
        if (INITIALS.has(piece) || (end && this.prefixes.has(piece) && !this.syllables.has(piece))) toks.push({ s: piece, full: false })
        for (const tok of toks) {
          moved = true
          walk(i + len, [...acc, tok])
        }
      }
      if (!moved && acc.length && !out.length) out.push(acc) // stuck: keep the start that splits
    }
    walk(0, [])
    return out
  }

  private wordsFor(tokens: Token[]): Entry[] {
    if (tokens.length < 2 || tokens.length > this.longest) return []
    const key = tokenKey(tokens)
    const hit = this.memo?.get(key)
    if (hit) return hit
    const list = this.words.get(tokens.map((t) => t.s[0]).join('')) ?? []
    const out = list.filter((e) => e.syl.length === tokens.length && e.syl.every((s, i) => (tokens[i].full ? s === tokens[i].s : s.startsWith(tokens[i].s))))
    this.memo?.set(key, out)
    return out
  }

  private charsFor(t: Token): string[] {
    if (t.full) return this.charsBySyl.get(t.s) ?? []
    let list = this.charsByPrefix.get(t.s)
    if (!list) {
      const seen = new Set<string>()
      for (const [s, cs] of this.charsBySyl) if (s.startsWith(t.s)) for (const c of cs) seen.add(c)
      list = [...seen].sort((a, b) => (this.charRank.get(a) ?? 1e9) - (this.charRank.get(b) ?? 1e9))
      this.charsByPrefix.set(t.s, list)
    }
    return list
  }

  /**
   * A phrase for a split of whole syllables from its longest words (characters where none fits), or
   * '' when the split has an abbreviation or no word of two or more characters (a string of single
   * characters is rarely what was meant).
   */
  private compose(tokens: Token[]): string {
    if (tokens.length < 2 || !tokens.every((t) => t.full)) return ''
    let out = ''
    let pieces = 0
    let words = 0
    for (let i = 0; i < tokens.length; ) {
      let step = 0
      for (let k = Math.min(tokens.length - i, 6); k >= 2 && !step; k--) {
        const w = this.wordsFor(tokens.slice(i, i + k))[0]
        if (w) {
          out += w.text
          step = k
          words++
        }
      }
      if (!step) {
        const c = this.charsFor(tokens[i])[0]
        if (!c) return ''
        out += c
        step = 1
      }
      i += step
      pieces++
    }
    return pieces > 1 && words > 0 ? out : ''
  }
}

function tokenKey(tokens: Token[]): string {
  return tokens.map((t) => (t.full ? t.s + '=' : t.s)).join(' ')
}

function initials(syl: string[]): string {
  return syl.map((s) => s[0]).join('')
}

/** For each token of a split of buf, the buffer offset just after it (explicit breaks included). */
function offsets(buf: string, tokens: Token[]): number[] {
  const out: number[] = []
  let i = 0
  for (const t of tokens) {
    while (buf[i] === "'") i++
    i += t.s.length
    while (buf[i] === "'" && i < buf.length) i++
    out.push(i)
  }
  return out
}
