// Phase 5 of fixtures/python-hardened (each migrated fixture validated for real), part 2 of 3:
// see describePhase5 in test/helpers/python-hardened.ts.
import { describePhase5 } from './helpers/python-hardened.js';

describePhase5(2, 3);
