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
    // survival check itself set their own window.
    env: { MIGRATE_SURVIVAL_WINDOW_S: '1' },
  },
});
