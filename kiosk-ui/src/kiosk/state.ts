// Everything a resident enters at the kiosk lives here so the idle timeout can wipe it in one place.

import { reactive, ref } from 'vue'
import type { KioskCard } from '../api'
import { resetKioskLocale } from '../lib/i18n'
import { closeKeyboard } from './keyboard/keyboard'

/** Default idle timeout in seconds. */
const DEFAULT_IDLE_SECONDS = 60

/**
 * Resolves the idle timeout: `?idle=N` on the first kiosk URL, then
 * `window.STATION_KIOSK_IDLE_SECONDS`, then the default of 60 s.
 */
export function resolveIdleSeconds(): number {
  const q = new URLSearchParams(window.location.search).get('idle')
  const fromQuery = q === null ? NaN : Number(q)
  if (Number.isFinite(fromQuery) && fromQuery > 0) return fromQuery
  const w = window.STATION_KIOSK_IDLE_SECONDS
  if (typeof w === 'number' && Number.isFinite(w) && w > 0) return w
  return DEFAULT_IDLE_SECONDS
}

export const kiosk = reactive({
  elder: false,
  guide: { query: '', category: '' },
  progress: { number: '', last4: '' },
})

/**
 * Set by a page whose content is read and left, such as a ticket number (取号): the layout's idle timer
 * then goes home after SHORT_IDLE_SECONDS (or the configured timeout, if shorter).
 */
export const shortIdle = ref(false)
export const SHORT_IDLE_SECONDS = 30
/** The seconds a shortIdle page stays (the layout sets it: SHORT_IDLE_SECONDS or the shorter configured timeout). */
export const shortIdleSeconds = ref(SHORT_IDLE_SECONDS)

/** Incremented on every wipe; used as a key to remount pages and drop their local state. */
export const wipeGeneration = ref(0)

/** The ID card on the reader (masked), i.e. the resident's verified session; null when none. */
export const cardSession = ref<KioskCard | null>(null)

/**
 * True once the reader's state is known (the event stream's first `hello`, or the stream failed):
 * until then a null cardSession means "not known yet", not "no card". The idle wipe keeps it.
 */
export const cardKnown = ref(false)

export function wipeKiosk(): void {
  closeKeyboard()
  cardSession.value = null
  kiosk.elder = false
  resetKioskLocale()
  kiosk.guide.query = ''
  kiosk.guide.category = ''
  kiosk.progress.number = ''
  kiosk.progress.last4 = ''
  wipeGeneration.value++
}
