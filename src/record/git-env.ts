/**
 * The environment variables that tell git which repository to use instead of finding it from the
 * working directory (`git rev-parse --local-env-vars`). Git sets GIT_DIR (and often GIT_INDEX_FILE,
 * GIT_WORK_TREE) for the hooks it runs and for `rebase --exec`; a migrate run, a test suite or a
 * script started from one inherits them, and every git command it runs in another folder — a
 * temporary fleet's `git init`, a commit in the repository given by --root — then acts on the
 * hook's repository instead: `git init` there re-initialises it (from a linked worktree it sets
 * `core.bare = true` in the shared config) and `git config user.name` rewrites its identity.
 * The tool and its tests find each repository from the folder they work in, so these go.
 */
export const REPOSITORY_GIT_ENV = [
  'GIT_ALTERNATE_OBJECT_DIRECTORIES',
  'GIT_CONFIG',
  'GIT_CONFIG_PARAMETERS',
  'GIT_CONFIG_COUNT',
  'GIT_OBJECT_DIRECTORY',
  'GIT_DIR',
  'GIT_WORK_TREE',
  'GIT_IMPLICIT_WORK_TREE',
  'GIT_GRAFT_FILE',
  'GIT_INDEX_FILE',
  'GIT_NO_REPLACE_OBJECTS',
  'GIT_REPLACE_REF_BASE',
  'GIT_PREFIX',
  'GIT_INTERNAL_SUPER_PREFIX',
  'GIT_SHALLOW_FILE',
  'GIT_COMMON_DIR',
] as const;

/** Removes from `env` (the process's own by default) what would point git at another repository; returns the names removed. */
export function dropRepositoryGitEnv(env: NodeJS.ProcessEnv = process.env): string[] {
  const dropped: string[] = [];
  for (const name of REPOSITORY_GIT_ENV) {
    if (env[name] === undefined) continue;
    delete env[name];
    dropped.push(name);
  }
  return dropped;
}
