// Phase 5 of fixtures/python-hardened (each migrated fixture validated for real), part 1 of 3:
// see describePhase5 in test/helpers/python-hardened.ts.
import { describePhase5 } from './helpers/python-hardened.js';

describePhase5(1, 3);
