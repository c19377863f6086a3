/// <reference types="vitest/config" />
// @ts-nocheck -- vite.config.ts runs in Node; tsconfig.json checks src/ only.
import { defineConfig } from 'vite';
import react from '@vitejs/plugin-react';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';

// `npm run dev` proxies the API to a `sunomi dev` on SUNOMI_URL (default localhost:8080).
const api = process.env.SUNOMI_URL ?? 'http://localhost:8080';

export default defineConfig({
  plugins: [
    react(),
    {
      // go:embed needs web/dist on a fresh clone, so dist/.gitkeep is committed: put it back
      // after Vite empties the directory.
      name: 'keep-dist',
      apply: 'build',
      closeBundle() {
        writeFileSync('dist/.gitkeep', '');
      },
    },
    {
      // The API's /api/docs page loads Swagger UI from the binary (web.SwaggerUI in web.go),
      // never from a CDN: copy the files it needs from the npm package, with the bundle's
      // licence notices.
      name: 'swagger-ui',
      apply: 'build',
      closeBundle() {
        mkdirSync('dist/swagger-ui', { recursive: true });
        for (const file of ['swagger-ui-bundle.js', 'swagger-ui-bundle.js.LICENSE.txt', 'swagger-ui.css']) {
          copyFileSync(`node_modules/swagger-ui-dist/${file}`, `dist/swagger-ui/${file}`);
        }
      },
    },
  ],
  build: {
    outDir: 'dist',
    emptyOutDir: true,
    sourcemap: false,
    chunkSizeWarningLimit: 600,
  },
  server: {
    proxy: {
      '/api': { target: api, ws: true },
      '/media': api,
      '/v1': api,
      '/avatars': api,
    },
  },
  test: {
    environment: 'jsdom',
    globals: true,
    setupFiles: ['src/test/setup.ts'],
    include: ['src/**/*.test.{ts,tsx}'],
    // jsdom renders of MUI pages take a few hundred milliseconds on a quiet
    // two-core machine and several seconds on a loaded one (CI beside other
    // jobs): the limits bound a hung test, not a slow one.
    testTimeout: 30_000,
  },
});
