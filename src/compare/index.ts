export { compareFiles, type CompareOptions, type CompareReport, type ColumnReport, type ColumnType } from './compare.ts';
export { formatTable } from './table.ts';
