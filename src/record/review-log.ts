// Answers given in `migrate review`, kept per agent under .git/migrate/reviews/ until
// the agent's record can hold them: an accept writes them all into the record it
// commits (key `review`), a reject leaves no file and no commit, so its answer stays
// here, where `migrate report` shows it.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { AGENT_FILE_NAME, localStateDir } from './local-state.js';

export type ReviewAnswerKind = 'accept' | 'reject' | 'edit' | 'skip';

export interface ReviewAnswer {
  answer: ReviewAnswerKind;
  at: string;
  /** The reviewer (git user.name <user.email>), when git knows one. */
  by?: string;
  /** The `_v2` file the answer was about. */
  output: string;
  /** sha256 of the `_v2` file when the answer was given. */
  output_sha256: string;
  /** edit: sha256 of the file after the editor closed. */
  edited_sha256?: string;
}

const fileOf = (root: string, agent: string) => {
  const d = localStateDir(root, 'reviews');
  return d && AGENT_FILE_NAME.test(agent) ? path.join(d, `${agent}.json`) : null;
};

export function reviewAnswers(root: string, agent: string): ReviewAnswer[] {
  const f = fileOf(root, agent);
  if (!f || !existsSync(f)) return [];
  try {
    const list = JSON.parse(readFileSync(f, 'utf8')) as ReviewAnswer[];
    return Array.isArray(list) ? list : [];
  } catch {
    return [];
  }
}

export function appendReviewAnswer(root: string, agent: string, answer: ReviewAnswer): void {
  const f = fileOf(root, agent);
  if (!f) return;
  mkdirSync(path.dirname(f), { recursive: true });
  writeFileSync(f, JSON.stringify([...reviewAnswers(root, agent), answer], null, 2));
}

/** Once the answers are in the committed record, the local copy goes. */
export function clearReviewAnswers(root: string, agent: string): void {
  const f = fileOf(root, agent);
  if (f) rmSync(f, { force: true });
}
