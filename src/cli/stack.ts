import type { Command } from 'commander';

/** Placeholder: replaced by the stack implementation. */
export function registerStackCommand(_program: Command): void {}
