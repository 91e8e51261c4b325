/// <reference types="vite/client" />

declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent<object, object, unknown>
  export default component
}

interface Window {
  /** Kiosk idle timeout in seconds; overrides the default of 60 (tests use a few seconds). */
  STATION_KIOSK_IDLE_SECONDS?: number
}

declare module 'virtual:kbd-dict' {
  /** The on-screen keyboard's pinyin dictionary text (see build/kbd-dict.mjs). */
  const dict: string
  export default dict
}
