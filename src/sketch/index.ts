export { TDigest } from './t-digest.ts';
export { Moments } from './moments.ts';
export { CategoryCounts, OTHER_CATEGORY, DEFAULT_CATEGORY_CAP } from './category-counts.ts';
export { cdfLeft, cdfRight, type CdfKnots } from './knots.ts';
export { ByteReader, ByteWriter } from './bytes.ts';
