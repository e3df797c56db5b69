/** vitest config for the benchmark harness's own tests (kept out of the product suite: no services needed). */
import {defineConfig} from 'vitest/config'

export default defineConfig({
  test: {
    include: ['scripts/bench/**/*.test.mjs'],
    testTimeout: 60_000,
  },
})
