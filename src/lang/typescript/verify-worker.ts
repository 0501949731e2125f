// Worker-thread entry for verifyTypeScript: type-checks groups of outputs, one program per
// group, keeping the shared declarations (lib, @types, the base) from one group to the next.
import { parentPort, workerData } from 'node:worker_threads';
import { oneLine } from '../../core/errors.js';
import { TsVerifier, type VerifyAnswer, type VerifySettings, type VerifyTask } from './verify.js';

const verifier = new TsVerifier(workerData as VerifySettings);
parentPort!.on('message', (task: VerifyTask) => {
  let answer: VerifyAnswer;
  try {
    answer = { errors: verifier.check(task.reqs) };
  } catch (err) {
    answer = { crash: oneLine(err) };
  }
  parentPort!.postMessage(answer);
});
