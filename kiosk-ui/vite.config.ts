import { defineConfig, type Plugin } from 'vite'
import vue from '@vitejs/plugin-vue'
import { buildKeyboardDict } from './build/kbd-dict.mjs'

// The Go server serves dist/ with an SPA fallback for /kiosk*, /counter* and /setup*.
const backend = 'http://127.0.0.1:8080'

/**
 * `virtual:kbd-dict`: the on-screen keyboard's pinyin dictionary, built from @pinyin-pro/data when
 * first imported. The kiosk imports it dynamically, so it is a chunk of its own.
 */
function keyboardDict(): Plugin {
  const id = 'virtual:kbd-dict'
  const resolved = '\0' + id
  let text: string | null = null
  return {
    name: 'station-kbd-dict',
    resolveId: (s) => (s === id ? resolved : undefined),
    load(s) {
      if (s !== resolved) return undefined
      text ??= buildKeyboardDict()
      return `export default ${JSON.stringify(text)}`
    },
  }
}

export default defineConfig({
  base: '/',
  plugins: [vue(), keyboardDict()],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    chunkSizeWarningLimit: 800,
  },
  server: {
    proxy: {
      '/api': backend,
      '/healthz': backend,
      '/readyz': backend,
    },
  },
})
