import { defineConfig } from 'vite'
import vue from '@vitejs/plugin-vue'

// The Go server serves dist/ with an SPA fallback for /kiosk*, /counter* and /setup*.
const backend = 'http://127.0.0.1:8080'

export default defineConfig({
  base: '/',
  plugins: [vue()],
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
