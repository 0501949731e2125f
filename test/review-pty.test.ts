// `migrate review` through a real pseudo-terminal (tmux on a private socket), keys sent
// one at a time as a person types them: accept the first agent, reject the second, edit
// the third in $EDITOR, then quit. Checked against the repository afterwards: one commit
// with the answers in its record, no file and no commit for the rejected agent, every
// answer recorded.
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execaSync } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { addNeedsReviewAgents, BIN, cli, commitAll, ensureBuilt, git, gitRepo, REPO, waitFor } from './helpers/cli.js';

const SOCKET = `migrate-review-test-${process.pid}`;
const SESSION = 'review';
let root: string;

const tmux = (...args: string[]) => execaSync('tmux', ['-L', SOCKET, ...args], { reject: false });
const screen = () => String(tmux('capture-pane', '-p', '-J', '-S', '-200', '-t', SESSION).stdout);

beforeAll(async () => {
  ensureBuilt();
  root = gitRepo(path.join(REPO, 'fixtures', 'demo-fleet'), 'migrate-review-pty-');
  expect((await cli(root, ['init'])).exitCode).toBe(0);
  execaSync('cp', [path.join(REPO, 'fixtures', 'review', 'heartbeat_agent.py'), path.join(root, 'agents')]);
  addNeedsReviewAgents(root);
  commitAll(root, 'base class, the heartbeat agent and an agent with items for review');
  const r = await cli(root, ['run', 'InventoryAgent', 'TextStatsAgent', 'HeartbeatAgent', '--no-commit', '--no-validate', '--json']);
  expect(r.exitCode, r.stderr).toBe(0);
}, 120_000);

afterAll(() => {
  tmux('kill-server'); // our private server only
  if (root) rmSync(root, { recursive: true, force: true });
});

it('accepts one, rejects one, edits one and quits, from keys typed in a terminal', async () => {
  const exitFile = path.join(root, '.git', 'review-exit');
  // The reviewer's editor: appends a comment to the file it is given.
  const editor = path.join(root, '.git', 'reviewer-editor.sh');
  writeFileSync(editor, `printf '\\n# checked by the reviewer\\n' >> "$1"\n`);
  const command = `cd ${root} && env -u NO_COLOR -u FORCE_COLOR EDITOR="sh ${editor}" node ${BIN} review; echo $? > ${exitFile}; sleep 60`;
  expect(tmux('new-session', '-d', '-s', SESSION, '-x', '220', '-y', '60', command).exitCode).toBe(0);

  // Pending agents come needs-review first (InventoryAgent), then by name: HeartbeatAgent, TextStatsAgent.
  await waitFor(() => screen().includes('1/3 InventoryAgent') && screen().includes('[q]uit ?'), 'the first prompt', 60_000, 100);
  const colourDiff = String(tmux('capture-pane', '-p', '-e', '-t', SESSION).stdout);
  expect(colourDiff).toMatch(/\x1b\[(3\d|9\d)m/); // coloured diff on a terminal
  tmux('send-keys', '-t', SESSION, 'a');
  await waitFor(() => screen().includes('accepted InventoryAgent') && screen().includes('2/3 HeartbeatAgent'), 'the accept', 60_000, 100);
  tmux('send-keys', '-t', SESSION, 'r');
  await waitFor(() => screen().includes('rejected HeartbeatAgent') && screen().includes('3/3 TextStatsAgent'), 'the reject', 60_000, 100);
  tmux('send-keys', '-t', SESSION, 'e');
  await waitFor(() => /edited; not validated since|does not pass/.test(screen()), 'the edit', 60_000, 100);
  tmux('send-keys', '-t', SESSION, 'q');
  await waitFor(() => existsSync(exitFile), 'migrate review to end', 60_000, 100);
  expect(readFileSync(exitFile, 'utf8').trim()).toBe('0');
  expect(screen()).toContain('1 accepted, 1 rejected, 0 skipped, 1 edit(s); 1 left to review');
  expect(screen()).toContain('edited; not validated since');

  // Accepted: one commit of exactly its _v2 and record, the answer in the record.
  const log = git(root, ['log', '--format=%s%n%b%x00', '-n', '5']);
  expect(log).toContain('migrate(InventoryAgent): move onto BaseAgent');
  expect(log).toContain('Migrate-Agent: InventoryAgent');
  expect(log).not.toContain('Migrate-Agent: HeartbeatAgent');
  const files = git(root, ['show', '--name-only', '--format=', 'HEAD']).split('\n').sort();
  expect(files).toEqual(['agents/inventory_agent_v2.py', 'migration-log/InventoryAgent.json']);
  const record = JSON.parse(readFileSync(path.join(root, 'migration-log', 'InventoryAgent.json'), 'utf8'));
  expect(record.review.map((a: { answer: string }) => a.answer)).toEqual(['accept']);
  expect(record.review[0].by).toBe('cli test <cli-test@example.invalid>');
  expect(record.kept_for_review.length).toBeGreaterThan(0);

  // Rejected: no file, no commit, the answer kept in this clone's review log.
  expect(existsSync(path.join(root, 'agents', 'heartbeat_agent_v2.py'))).toBe(false);
  const rejected = JSON.parse(readFileSync(path.join(root, '.git', 'migrate', 'reviews', 'HeartbeatAgent.json'), 'utf8'));
  expect(rejected.map((a: { answer: string }) => a.answer)).toEqual(['reject']);

  // Edited, then left: the reviewer's change is in the file and the edit is recorded with both hashes.
  const edited = readFileSync(path.join(root, 'agents', 'text_stats_agent_v2.py'), 'utf8');
  expect(edited).toContain('# checked by the reviewer');
  const edits = JSON.parse(readFileSync(path.join(root, '.git', 'migrate', 'reviews', 'TextStatsAgent.json'), 'utf8'));
  expect(edits).toHaveLength(1);
  expect(edits[0].answer).toBe('edit');
  expect(edits[0].edited_sha256).not.toBe(edits[0].output_sha256);
  expect(git(root, ['status', '--porcelain'])).toBe('?? agents/text_stats_agent_v2.py');

  // The status and the report agree with the answers.
  const status = JSON.parse((await cli(root, ['status', '--json'])).stdout) as { agents: Array<{ name: string; state: string }> };
  const state = new Map(status.agents.map((a) => [a.name, a.state]));
  expect(state.get('InventoryAgent')).toBe('committed');
  expect(state.get('HeartbeatAgent')).toBe('legacy');
  const html = (await cli(root, ['report'])).stdout;
  expect(html).toMatch(/data-agent="HeartbeatAgent" data-status="legacy"/);
  expect(html).toContain('its _v2 was rejected in review');
}, 180_000);
