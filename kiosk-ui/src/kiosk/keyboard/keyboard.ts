// State of the kiosk's one on-screen keyboard (TouchKeyboard.vue, mounted in KioskLayout.vue).
//
// A kiosk text field opts in with `data-kbd` and `inputmode="none"` (so no system keyboard pops up):
//   data-kbd="text"     full keyboard, 拼音 first (英文 and 123 one tap away)
//   data-kbd="numpad"   numeric pad; data-kbd-keys="SQ -" or "X" adds keys beside the digits
// The keyboard types into the focused field through setRangeText and an `input` event, so v-model
// sees every change and a physical keyboard keeps working beside it. The pinyin dictionary is a
// separate chunk loaded the first time the keyboard opens.

import { reactive } from 'vue'
import { catalog } from '../../api'
import type { Candidate, PinyinIme } from './ime'

/** What the full keyboard's keys type. */
export type KeyboardMode = 'pinyin' | 'abc' | 'sym'

/** The full keyboard, or the numeric pad for numbers. */
export type KeyboardLayout = 'full' | 'numpad'

/** The on-screen keyboard's reactive state; change it only through the functions below. */
export const keyboard = reactive({
  open: false,
  layout: 'full' as KeyboardLayout,
  mode: 'pinyin' as KeyboardMode,
  upper: false,
  /** Letters typed in 拼音 mode and not yet turned into Chinese. */
  buffer: '',
  candidates: [] as Candidate[],
  /** Extra numeric pad keys for the field (e.g. X for the last character of an ID number). */
  extraKeys: [] as string[],
  /** 'loading' until the dictionary chunk has arrived; 'failed' if it could not load. */
  dict: 'idle' as 'idle' | 'loading' | 'ready' | 'failed',
  /** The id of the field typed into, for aria-controls. */
  targetId: '',
})

type Field = HTMLInputElement | HTMLTextAreaElement

let target: Field | null = null
let ime: PinyinIme | null = null
let loading: Promise<void> | null = null
let stationTexts: string[] = []

/** Whether el is a kiosk field that uses the on-screen keyboard. */
export function isKeyboardField(el: unknown): el is Field {
  return (el instanceof HTMLInputElement || el instanceof HTMLTextAreaElement) && el.hasAttribute('data-kbd') && !el.disabled && !el.readOnly
}

/** Opens the keyboard for field el (a data-kbd field), keeping the mode the resident last chose. */
export function openKeyboard(el: Field): void {
  if (target !== el) commitBuffer()
  target = el
  keyboard.targetId = el.id
  const numpad = el.getAttribute('data-kbd') === 'numpad'
  keyboard.layout = numpad ? 'numpad' : 'full'
  keyboard.extraKeys = numpad ? (el.getAttribute('data-kbd-keys') ?? '').split(/\s+/).filter(Boolean) : []
  keyboard.open = true
  if (!numpad && keyboard.mode === 'pinyin') void loadDictionary()
}

/** Closes the keyboard, dropping the pinyin buffer (the idle wipe and navigation call it too). */
export function closeKeyboard(): void {
  keyboard.open = false
  keyboard.buffer = ''
  keyboard.candidates = []
  keyboard.upper = false
  keyboard.mode = 'pinyin'
  keyboard.targetId = ''
  target = null
}

/** Closes the keyboard after 完成: letters still in the buffer go into the field as they are. */
export function finishKeyboard(): void {
  commitBuffer()
  const el = target
  closeKeyboard()
  el?.blur()
}

/** Switches the full keyboard's mode; letters left in the pinyin buffer go into the field first. */
export function setMode(m: KeyboardMode): void {
  commitBuffer()
  keyboard.mode = m
  if (m === 'pinyin') void loadDictionary()
}

/** Toggles upper case letters in 英文 mode. */
export function toggleUpper(): void {
  keyboard.upper = !keyboard.upper
}

/** A letter, digit or symbol key: letters go to the pinyin buffer in 拼音 mode, the rest to the field. */
export function pressKey(k: string): void {
  const pinyin = keyboard.layout === 'full' && keyboard.mode === 'pinyin'
  // The apostrophe separates syllables inside the buffer (xi'an); typed alone it is an apostrophe.
  if (pinyin && (/^[a-z]$/.test(k) || (k === "'" && keyboard.buffer && !keyboard.buffer.endsWith("'")))) {
    if (keyboard.buffer.length >= 32) return
    keyboard.buffer += k
    refresh()
    return
  }
  if (keyboard.layout === 'full' && keyboard.mode === 'abc' && keyboard.upper) k = k.toUpperCase()
  insert(k)
}

/** 空格: in 拼音 mode with letters typed, picks the first candidate; otherwise types a space. */
export function pressSpace(): void {
  if (keyboard.buffer) {
    const first = keyboard.candidates[0]
    if (first) pickCandidate(first)
    else commitBuffer()
    return
  }
  insert(' ')
}

/** 退格: removes the buffer's last letter, or else the character before the field's cursor. */
export function pressBackspace(): void {
  if (keyboard.buffer) {
    keyboard.buffer = keyboard.buffer.slice(0, -1)
    refresh()
    return
  }
  const el = live()
  if (!el) return
  const start = el.selectionStart ?? el.value.length
  const end = el.selectionEnd ?? start
  if (start !== end) edit(el, '', start, end)
  else if (start > 0) {
    // Step back over a whole surrogate pair (rare characters outside the BMP).
    const cut = start >= 2 && /[\udc00-\udfff]/.test(el.value[start - 1]) ? 2 : 1
    edit(el, '', start - cut, start)
  }
}

/** 清空: empties the buffer and the field. */
export function pressClear(): void {
  keyboard.buffer = ''
  keyboard.candidates = []
  const el = live()
  if (el && el.value) edit(el, '', 0, el.value.length)
}

/** Inserts candidate c and keeps the letters it does not stand for in the buffer. */
export function pickCandidate(c: Candidate): void {
  insert(c.text)
  keyboard.buffer = keyboard.buffer.slice(c.consumed).replace(/^'+/, '')
  refresh()
}

/**
 * Adds the station's own words (matter, department and category names) to the candidates; texts
 * given before the dictionary has loaded are added when it arrives.
 */
export function addStationTexts(texts: string[]): void {
  const parts = texts.flatMap((t) => t.split(/[^\u4e00-\u9fff]+/)).filter((p) => [...p].length >= 2)
  stationTexts = [...new Set([...stationTexts, ...parts])]
  if (ime) addTo(ime, parts)
}

/** Loads the dictionary chunk (once); the keyboard calls it when it first opens in 拼音 mode. */
export function loadDictionary(): Promise<void> {
  loading ??= (async () => {
    keyboard.dict = 'loading'
    try {
      const [{ PinyinIme }, { default: dict }, { stationVocabulary }] = await Promise.all([
        import('./ime'),
        import('virtual:kbd-dict'),
        import('./vocabulary'),
      ])
      const e = new PinyinIme(dict)
      addTo(e, [...stationVocabulary, ...stationTexts])
      ime = e
      keyboard.dict = 'ready'
      refresh()
      void loadCatalogWords()
    } catch (err) {
      console.error('on-screen keyboard: the pinyin dictionary did not load', err)
      keyboard.dict = 'failed'
      loading = null
    }
  })()
  return loading
}

/** The matter, department and category names of the station's catalog, as station words. */
async function loadCatalogWords() {
  try {
    const items = (await catalog.matters({})).items ?? []
    addStationTexts(items.flatMap((m) => [m.name, m.department, m.category, ...(m.aliases ?? [])]))
    refresh()
  } catch (err) {
    console.warn('on-screen keyboard: no catalog words', err)
  }
}

function addTo(e: PinyinIme, texts: string[]) {
  e.addStationWords(texts.flatMap((text) => {
    const syllables = e.pinyinOf(text)
    return syllables ? [{ text, syllables }] : []
  }))
}

function refresh() {
  keyboard.candidates = keyboard.buffer && ime ? ime.lookup(keyboard.buffer) : []
}

function commitBuffer() {
  if (!keyboard.buffer) return
  const b = keyboard.buffer
  keyboard.buffer = ''
  keyboard.candidates = []
  insert(b)
}

/** The target field if it is still on the page. */
function live(): Field | null {
  if (target && !target.isConnected) {
    closeKeyboard()
    return null
  }
  return target
}

function insert(text: string) {
  const el = live()
  if (!el || !text) return
  const start = el.selectionStart ?? el.value.length
  const end = el.selectionEnd ?? start
  const max = el.maxLength >= 0 ? el.maxLength : Infinity
  const room = max - (el.value.length - (end - start))
  let s = text
  while (s.length > room) s = [...s].slice(0, -1).join('')
  if (s) edit(el, s, start, end)
}

function edit(el: Field, s: string, start: number, end: number) {
  el.setRangeText(s, start, end, 'end')
  el.dispatchEvent(new Event('input', { bubbles: true }))
}
