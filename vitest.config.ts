import { defineConfig } from 'vitest/config';

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 60_000,
    hookTimeout: 60_000,
    // Native addons (tree-sitter) and child processes: separate processes are the safe pool.
    pool: 'forks',
    poolOptions: { forks: { maxForks: 2, minForks: 1 } },
    // Validation's survival window (30 s in the profile) kept short in tests; the tests of the
    // survival check itself set their own window. Every test scans its files as if for the
    // first time (test/scan-cache.test.ts turns the scan cache on for itself).
    env: { MIGRATE_SURVIVAL_WINDOW_S: '1', MIGRATE_CACHE: '0' },
  },
});
