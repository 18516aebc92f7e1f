import type { Command } from 'commander';

/** Placeholder: replaced by the compare implementation. */
export function registerCompareCommand(_program: Command): void {}
