import { Option } from 'commander';
import { parseDuration } from '../evaluate/duration.ts';
import { DriftwatchError } from '../errors.ts';

/**
 * Option parsers and options shared by the commands, so that one flag means the same thing, takes the
 * same values and says its default the same way everywhere. A bad value is a DW_ERR_USAGE naming the flag.
 */

const usage = (flag: string, expected: string, got: string) => new DriftwatchError('DW_ERR_USAGE', `${flag}: expected ${expected}, got "${got}"`);

export const wholeNumber =
  (flag: string, min = 0) =>
  (text: string): number => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isInteger(value) || value < min) throw usage(flag, min === 0 ? 'a whole number' : `a whole number ≥ ${min}`, text);
    return value;
  };

export const fraction =
  (flag: string) =>
  (text: string): number => {
    const value = Number(text);
    if (text.trim() === '' || !(value >= 0 && value <= 1)) throw usage(flag, 'a number in [0, 1]', text);
    return value;
  };

export const nonNegative =
  (flag: string) =>
  (text: string): number => {
    const value = Number(text);
    if (text.trim() === '' || !(value >= 0 && Number.isFinite(value))) throw usage(flag, 'a number ≥ 0', text);
    return value;
  };

export const duration =
  (flag: string) =>
  (text: string): number => {
    const value = parseDuration(text);
    if (value === undefined) throw usage(flag, 'a duration such as 30s, 5m or 1h', text);
    return value;
  };

export const port =
  (flag: string) =>
  (text: string): number => {
    const value = Number(text);
    if (text.trim() === '' || !Number.isInteger(value) || value < 0 || value > 65_535) throw usage(flag, 'a port number (0-65535)', text);
    return value;
  };

/** For repeatable options: `--type a=numeric --type b=categorical`. */
export const collect = (value: string, previous: string[]): string[] => [...previous, value];

/** `--topology FILE`, the same wording in every command that reads one. */
export function topologyOption(defaultFile = 'topologies/default.yaml'): Option {
  return new Option('--topology <file>', `topology file (default: ${defaultFile} when present, else the built-in defaults)`);
}

/** The "Examples:" block that ends a command's help. */
export function examples(...lines: [command: string, what: string][]): string {
  return `\nExamples:\n${lines.map(([command, what]) => `  $ ${command}\n      ${what}`).join('\n')}\n`;
}
