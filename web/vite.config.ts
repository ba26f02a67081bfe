import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';

// `npm run dev` proxies the API to a local `youmeyou serve` (make run); the
// production build is served by youmeyou itself from web/dist.
export default defineConfig({
  plugins: [react()],
  build: { outDir: 'dist', emptyOutDir: true, sourcemap: false, chunkSizeWarningLimit: 900 },
  server: {
    proxy: {
      '/api': 'http://127.0.0.1:4000',
      '/stream': { target: 'ws://127.0.0.1:4000', ws: true },
    },
  },
});
