// Registers every language adapter (import for its side effect before scanning).
import { registerAdapter } from './registry.js';
import { pythonAdapter } from './python/adapter.js';
import { typescriptAdapter } from './typescript/adapter.js';

registerAdapter(pythonAdapter);
registerAdapter(typescriptAdapter);
