// Loads the on-screen keyboard's pinyin engine (src/kiosk/keyboard/ime.ts) and its dictionary
// (virtual:kbd-dict) in node through Vite, as the kiosk bundle gets them. Used by ime-check.mjs
// and ime-bench.mjs; run from kiosk-ui/.

import path from 'node:path'
import { fileURLToPath } from 'node:url'
import { createServer } from 'vite'

const root = path.join(path.dirname(fileURLToPath(import.meta.url)), '..')

/** Returns { PinyinIme, dict, stationVocabulary, close }. */
export async function loadIme() {
  const server = await createServer({
    root,
    configFile: path.join(root, 'vite.config.ts'),
    server: { middlewareMode: true, hmr: false, ws: false },
    appType: 'custom',
    logLevel: 'error',
  })
  const { PinyinIme } = await server.ssrLoadModule('/src/kiosk/keyboard/ime.ts')
  const { stationVocabulary } = await server.ssrLoadModule('/src/kiosk/keyboard/vocabulary.ts')
  const dict = (await server.ssrLoadModule('virtual:kbd-dict')).default
  return { PinyinIme, dict, stationVocabulary, close: () => server.close() }
}
