#!/usr/bin/env node
// Runs the `parley` command from its TypeScript source through tsx (core has no build step yet).
import { register } from 'tsx/esm/api';

register();
await import('../src-core/cli/main.ts');
