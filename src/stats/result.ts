/**
 * A statistic, or `insufficient` when an input holds no values: then `value` is the neutral reading
 * (distance 0, p-value 1), never NaN, so nothing downstream alerts on or serialises an undefined number.
 */
export interface Statistic {
  readonly value: number;
  readonly insufficient: boolean;
}

export function statistic(value: number): Statistic {
  return { value, insufficient: false };
}

export function insufficient(neutral = 0): Statistic {
  return { value: neutral, insufficient: true };
}
