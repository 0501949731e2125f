// TypeScript fixture cases marked `runtime: true` in case.yaml, validated for real, part 2 of 3
// (every third case): see describeTsRuntimeCases in test/helpers/ts-runtime-cases.ts.
import { describeTsRuntimeCases } from './helpers/ts-runtime-cases.js';

describeTsRuntimeCases(2, 3);
