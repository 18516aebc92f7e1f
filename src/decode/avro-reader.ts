/**
 * A compiled decoder for the Avro binary encoding
 * (https://avro.apache.org/docs/1.11.1/specification/#binary-encoding) that returns what avsc's
 * `Type.forSchema(schema, { wrapUnions: 'never' }).fromBuffer(body)` returns, only faster.
 *
 * Why not just avsc: on the ingest hot path avsc spent ~24 % of a worker's main thread, most of it in
 * the feature map — a fresh string per map key (utf8Slice, then V8 internalizes it to use it as a
 * property name) for the same ~20 keys every event, a property-by-property fill of `{}`, and one Tap
 * method call per value. Here a schema is compiled once into JavaScript source (one function per
 * record, everything else inlined, the read position in a local; it measured 1.3–1.8× the speed of
 * the same reader built from closures on the prediction log), map keys and short strings go through small bounded
 * caches from bytes to an already internalized string, and maps whose key sequence repeats are built
 * by a compiled object literal (see MapBuilder).
 *
 * Values are the same as avsc's: records and maps are plain objects (fields in schema order), unions
 * are unwrapped to the branch's value, longs are numbers (throwing beyond ±9007199254740990 like
 * avsc), bytes and fixed are fresh Buffers (copies, so they do not pin the message), logical types
 * are their underlying type. Malformed input throws (truncation, trailing bytes, bad union or enum
 * index, negative lengths) where avsc throws too; booleans follow avsc (any non-zero byte is true).
 *
 * Not compiled (`undefined`, so the caller keeps avsc): `error` types (avsc builds Error objects),
 * a field named `__proto__` (an object literal would set the prototype), and anything avsc itself
 * would reject or that this module does not recognise.
 *
 * Pure: no I/O, no clock. Not re-entrant by design: decoding is synchronous and never calls out to
 * user code, so the compiled functions share one read position.
 */

export interface AvroReader {
  /** The value of one Avro body (no Confluent header); throws on input that does not match. A plain function: safe to detach. */
  decode(body: Buffer): unknown;
}

export interface AvroReaderOptions {
  /**
   * String values (not only map keys) of at most this many UTF-8 bytes go through an interning cache
   * too; 0 turns that off. Repeated short values (categories, model ids) then cost a byte compare
   * instead of a new string each; unique ones (prediction ids) cost the hash and a copy for nothing.
   */
  internValuesUpTo?: number;
}

/** Default for {@link AvroReaderOptions.internValuesUpTo}: measured by `npm run bench:micro` (avro decode tasks). */
const DEFAULT_INTERN_VALUES_UP_TO = 32;

/** Longs beyond this lose precision as numbers: avsc's bound (one less than 2^53 - 1, for rounding). */
const MAX_SAFE_LONG = 9007199254740990;

/**
 * An array whose items take no bytes (null, fixed(0), records of those) can claim any count without
 * running out of input; avsc would try to allocate it. Beyond this many items we throw instead.
 */
const MAX_ZERO_SIZE_ITEMS = 1 << 24;

// ---------------------------------------------------------------------------------------------------
// Schema → a resolved tree (names and namespaces as avsc resolves them)

type Primitive = 'null' | 'boolean' | 'int' | 'long' | 'float' | 'double' | 'bytes' | 'string';

type Node =
  | { kind: Primitive }
  | { kind: 'record'; name: string; fields: { name: string; type: Node }[] }
  | { kind: 'enum'; name: string; symbols: string[] }
  | { kind: 'fixed'; size: number }
  | { kind: 'array'; items: Node }
  | { kind: 'map'; values: Node }
  | { kind: 'union'; branches: Node[] };

type RecordNode = Extract<Node, { kind: 'record' }>;

const PRIMITIVES: ReadonlySet<string> = new Set(['null', 'boolean', 'int', 'long', 'float', 'double', 'bytes', 'string']);
const AVRO_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Thrown while compiling when the schema is not one this module handles; becomes `undefined`. */
class Unsupported extends Error {}

/** avsc's maybeQualify: primitives stay global, dotted names are full, others join the namespace. */
function qualify(name: string, namespace: string | null | undefined): string {
  const parts = name.split('.');
  const last = parts[parts.length - 1]!;
  if (PRIMITIVES.has(last)) return last;
  const full = name.includes('.') ? name.replace(/^\./, '') : namespace ? `${namespace}.${name}` : name;
  if (!full.split('.').every((part) => AVRO_NAME.test(part))) throw new Unsupported(`invalid name ${JSON.stringify(full)}`);
  return full;
}

function optionalNamespace(value: unknown): string | null | undefined {
  if (value === undefined || value === null || typeof value === 'string') return value;
  throw new Unsupported('namespace is not a string');
}

class SchemaResolver {
  private readonly named = new Map<string, Node>();

  resolve(schema: unknown, namespace: string | null | undefined): Node {
    if (typeof schema === 'string') {
      const name = qualify(schema, namespace);
      if (PRIMITIVES.has(name)) return { kind: name as Primitive };
      const node = this.named.get(name);
      if (node === undefined) throw new Unsupported(`undefined type name ${name}`);
      // A record still being resolved is returned as is: recursion works, as each record is its own function.
      return node;
    }
    if (Array.isArray(schema)) {
      const branches = schema.map((branch) => this.resolve(branch, namespace));
      if (branches.length === 0 || branches.some((branch) => branch.kind === 'union')) throw new Unsupported('empty or nested union');
      return { kind: 'union', branches };
    }
    if (typeof schema !== 'object' || schema === null) throw new Unsupported('not a schema');
    const s = schema as Record<string, unknown>;
    const type = s['type'];
    if (typeof type !== 'string') throw new Unsupported('type is not a string');
    // Logical types without handlers (avsc's default) are read as their underlying type.
    if (PRIMITIVES.has(type)) return { kind: type as Primitive };
    switch (type) {
      case 'record': {
        const ownNamespace = optionalNamespace(s['namespace']);
        const name = this.declare(s, ownNamespace === undefined ? namespace : ownNamespace);
        // Nested types live in the record's namespace: its own attribute, else the one its full name implies.
        const implied = typeof s['name'] === 'string' ? /^(.*)\.[^.]+$/.exec(s['name'])?.[1] : undefined;
        const inner = ownNamespace !== undefined ? ownNamespace : (implied ?? namespace);
        if (!Array.isArray(s['fields'])) throw new Unsupported('record fields are not an array');
        const node: RecordNode = { kind: 'record', name, fields: [] };
        if (name !== '') this.named.set(name, node);
        const seen = new Set<string>();
        for (const field of s['fields'] as unknown[]) {
          if (typeof field !== 'object' || field === null) throw new Unsupported('field is not an object');
          const fieldName = (field as Record<string, unknown>)['name'];
          // Field names become object-literal keys: only Avro names (avsc rejects others too), never __proto__.
          if (typeof fieldName !== 'string' || !AVRO_NAME.test(fieldName) || fieldName === '__proto__' || seen.has(fieldName)) {
            throw new Unsupported('bad field name');
          }
          seen.add(fieldName);
          node.fields.push({ name: fieldName, type: this.resolve((field as Record<string, unknown>)['type'], inner) });
        }
        return node;
      }
      case 'enum': {
        const ownNamespace = optionalNamespace(s['namespace']);
        const name = this.declare(s, ownNamespace === undefined ? namespace : ownNamespace);
        const symbols = s['symbols'];
        if (!Array.isArray(symbols) || symbols.length === 0 || !symbols.every((symbol) => typeof symbol === 'string')) {
          throw new Unsupported('bad enum symbols');
        }
        const node: Node = { kind: 'enum', name, symbols: symbols as string[] };
        if (name !== '') this.named.set(name, node);
        return node;
      }
      case 'fixed': {
        const ownNamespace = optionalNamespace(s['namespace']);
        const name = this.declare(s, ownNamespace === undefined ? namespace : ownNamespace);
        const size = s['size'];
        if (typeof size !== 'number' || !Number.isInteger(size) || size < 0 || size > 0x7fffffff) throw new Unsupported('bad fixed size');
        const node: Node = { kind: 'fixed', size };
        if (name !== '') this.named.set(name, node);
        return node;
      }
      case 'array':
        return { kind: 'array', items: this.resolve(s['items'], namespace) };
      case 'map':
        return { kind: 'map', values: this.resolve(s['values'], namespace) };
      default:
        // 'error' (avsc makes Error instances of those) and anything unknown.
        throw new Unsupported(`type ${type}`);
    }
  }

  /** The full name of a named type ('' when anonymous); duplicate names are avsc's error, not ours to guess. */
  private declare(s: Record<string, unknown>, namespace: string | null | undefined): string {
    const name = s['name'];
    if (name === undefined) return '';
    if (typeof name !== 'string') throw new Unsupported('name is not a string');
    const full = qualify(name, namespace);
    if (PRIMITIVES.has(full) || this.named.has(full)) throw new Unsupported(`cannot (re)define ${full}`);
    return full;
  }
}

/** The fewest bytes a value of the type takes (0 for null and alike); cycles count as 0. */
function minSize(node: Node, visiting = new Set<Node>()): number {
  switch (node.kind) {
    case 'null':
      return 0;
    case 'float':
      return 4;
    case 'double':
      return 8;
    case 'fixed':
      return node.size;
    case 'record': {
      if (visiting.has(node)) return 0;
      visiting.add(node);
      let total = 0;
      for (const field of node.fields) total += minSize(field.type, visiting);
      visiting.delete(node);
      return total;
    }
    default:
      // boolean, varints, lengths, block counts and union indexes take at least a byte.
      return 1;
  }
}

// ---------------------------------------------------------------------------------------------------
// Runtime helpers the generated code calls

/** Where readVarint leaves the position (a second return value without allocating). */
const cursor = { pos: 0 };

const truncated = (): Error => new Error('truncated buffer');
const trailing = (): Error => new Error('trailing data');
const precisionLoss = (): Error => new Error('potential precision loss');
const negativeLength = (n: number): Error => new Error(`invalid negative length: ${n}`);
const invalidUnion = (index: number): Error => new Error(`invalid union index: ${index}`);
const invalidEnum = (name: string, index: number): Error => new Error(`invalid ${name || 'enum'} enum index: ${index}`);
const tooManyItems = (): Error => new Error(`array of more than ${MAX_ZERO_SIZE_ITEMS} zero-size items`);

/**
 * A zig-zag varint starting at `pos` that did not fit in one byte (the generated code inlines that
 * case). Same arithmetic as avsc's Tap.readLong, so odd encodings (over-long, beyond 2^53) give the
 * same number: integers for the first 28 bits, floating point after.
 */
function readVarint(buf: Uint8Array, pos: number, end: number): number {
  let n = 0;
  let k = 0;
  let b: number;
  let h: number;
  do {
    if (pos >= end) throw truncated();
    b = buf[pos++]!;
    h = b & 0x80;
    n |= (b & 0x7f) << k;
    k += 7;
  } while (h && k < 28);
  if (h) {
    let f = n;
    let fk = 268435456; // 2 ** 28
    do {
      if (pos >= end) throw truncated();
      b = buf[pos++]!;
      f += (b & 0x7f) * fk;
      fk *= 128;
    } while (b & 0x80);
    cursor.pos = pos;
    return (f % 2 ? -(f + 1) : f) / 2;
  }
  cursor.pos = pos;
  return (n >> 1) ^ -(n & 1);
}

interface Utf8SliceBuffer {
  utf8Slice(start: number, end: number): string;
}

/** Node's own UTF-8 decode without Buffer#toString's argument handling (avsc uses it too). */
const HAS_UTF8_SLICE = typeof (Buffer.prototype as unknown as Partial<Utf8SliceBuffer>).utf8Slice === 'function';

function utf8(buf: Uint8Array, start: number, end: number): string {
  return HAS_UTF8_SLICE ? (buf as unknown as Utf8SliceBuffer).utf8Slice(start, end) : Buffer.from(buf.buffer, buf.byteOffset, buf.length).toString('utf8', start, end);
}

function copyBytes(buf: Uint8Array, start: number, length: number): Buffer {
  const out = Buffer.allocUnsafe(length);
  out.set(buf.subarray(start, start + length));
  return out;
}

/**
 * A bounded cache from UTF-8 bytes to the decoded string, two-way set associative. A hit returns the
 * same string object as last time: no allocation, MapBuilder's key compare is a pointer compare, and
 * V8 has already internalized it as a property name, so no string-table lookup either. Entries are
 * checked byte for byte (hash first), so a hit is always the right string; a miss replaces the older
 * entry of its set, so memory stays at `sets * 2 * maxBytes` bytes whatever the input.
 */
export class Utf8Interner {
  private readonly mask: number;
  private readonly bytes: Uint8Array;
  private readonly lengths: Int32Array;
  private readonly strings: string[];

  constructor(
    sets: number,
    private readonly maxBytes: number,
  ) {
    if (!Number.isInteger(Math.log2(sets))) throw new Error('sets must be a power of two');
    this.mask = sets - 1;
    this.bytes = new Uint8Array(sets * 2 * maxBytes);
    this.lengths = new Int32Array(sets * 2).fill(-1);
    this.strings = new Array<string>(sets * 2).fill('');
  }

  get(buf: Uint8Array, start: number, length: number): string {
    if (length > this.maxBytes) return utf8(buf, start, start + length);
    const end = start + length;
    // FNV-1a over the bytes, seeded with the length.
    let h = 0x811c9dc5 ^ length;
    for (let i = start; i < end; i++) h = Math.imul(h ^ buf[i]!, 0x01000193);
    const first = ((h ^ (h >>> 15)) & this.mask) << 1;
    const { bytes, lengths, strings, maxBytes } = this;
    for (let way = first; way < first + 2; way++) {
      if (lengths[way] !== length) continue;
      let i = 0;
      const base = way * maxBytes;
      while (i < length && bytes[base + i] === buf[start + i]) i++;
      if (i === length) return strings[way]!;
    }
    // Miss: the newer entry moves to the second way, the new one takes the first.
    const s = utf8(buf, start, end);
    const base = first * maxBytes;
    bytes.copyWithin(base + maxBytes, base, base + maxBytes);
    lengths[first + 1] = lengths[first]!;
    strings[first + 1] = strings[first]!;
    for (let i = 0; i < length; i++) bytes[base + i] = buf[start + i]!;
    lengths[first] = length;
    strings[first] = s;
    return s;
  }
}

/** Distinct key sequences one map site compiles an object literal for; others are filled key by key. */
const MAX_MAP_SHAPES = 8;
/** Longer maps are filled key by key (a literal that big buys little and compiles slowly). */
const MAX_SHAPE_KEYS = 256;
/** Nor are keys of more characters than this compiled in (a shape keeps its keys for the reader's life). */
const MAX_SHAPE_KEY_CHARS = 16_384;

type MakeMap = (values: readonly unknown[]) => Record<string, unknown>;

/**
 * Builds the plain objects of one map site. Filling `{}` key by key (avsc's way) walks V8's
 * transition tree and regrows the property store at every key: ~60 % of the decode time of a
 * 20-feature event. Feature maps carry the same keys in the same order event after event, so the
 * first few distinct key sequences seen here each get a compiled object literal
 * (`{"n0": v[0], "n1": v[1], ...}`), which V8 creates from one boilerplate in a single allocation.
 * The object is the same as avsc's: same own properties in the same order, Object.prototype. Key
 * sequences with a repeated key (a literal cannot hold one twice) or a `__proto__` key (it sets the
 * prototype instead of a property; avsc's assignment semantics are the reference, so no literal for
 * it) are filled key by key, as are all sequences once MAX_MAP_SHAPES have been compiled.
 */
export class MapBuilder {
  private readonly shapes: { keys: string[]; make: MakeMap }[] = [];
  private last = 0;

  build(keys: readonly string[], values: readonly unknown[]): Record<string, unknown> {
    const count = keys.length;
    if (count === 0) return {};
    const { shapes } = this;
    // The last shape used first: a stream of one producer's events hits it every time.
    for (let tried = 0; tried < shapes.length; tried++) {
      const index = (this.last + tried) % shapes.length;
      const shape = shapes[index]!;
      if (shape.keys.length !== count || !sameKeys(shape.keys, keys)) continue;
      this.last = index;
      return shape.make(values);
    }
    if (shapes.length < MAX_MAP_SHAPES && count <= MAX_SHAPE_KEYS && compilable(keys)) {
      // Keys reach the source only as JSON string literals, which are valid JavaScript string literals.
      const body = `return { ${keys.map((key, i) => `${JSON.stringify(key)}: v[${i}]`).join(', ')} };`;
      const make = new Function('v', body) as MakeMap;
      this.last = shapes.push({ keys: keys.slice(), make }) - 1;
      return make(values);
    }
    const map: Record<string, unknown> = {};
    for (let i = 0; i < count; i++) map[keys[i]!] = values[i];
    return map;
  }
}

function compilable(keys: readonly string[]): boolean {
  let chars = 0;
  for (const key of keys) chars += key.length;
  return chars <= MAX_SHAPE_KEY_CHARS && !keys.includes('__proto__') && new Set(keys).size === keys.length;
}

function sameKeys(a: readonly string[], b: readonly string[]): boolean {
  // Interned keys are the same string objects, so this is mostly pointer compares.
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

/** Map keys: feature names are short and few; 512 sets × 2 ways × 64 bytes = 64 KiB per schema. */
const KEY_SETS = 512;
const KEY_MAX_BYTES = 64;
/** Short string values: categories, model and predictor names; 32 KiB per schema at 32 bytes. */
const VALUE_SETS = 512;

// Doubles and floats are copied byte by byte into a scratch array and read back: no bounds-check
// exception path and no call, unlike Buffer#readDoubleLE. The byte order is the platform's.
const SCRATCH = new Uint8Array(8);
const F64 = new Float64Array(SCRATCH.buffer);
const F32 = new Float32Array(SCRATCH.buffer);
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

// ---------------------------------------------------------------------------------------------------
// Code generation

/**
 * Emits JavaScript for a resolved schema. Each record is one function (recursion and repeated named
 * types cost one copy each); everything else is inlined into the function of its enclosing record,
 * with the read position in a local `p`, synced through the shared `pos` only around record calls.
 */
class Generator {
  private readonly records = new Map<RecordNode, string>();
  private readonly pending: RecordNode[] = [];
  private readonly constants: unknown[] = [];
  private counter = 0;

  constructor(private readonly internValuesUpTo: number) {}

  compile(root: Node): AvroReader {
    let body = '';
    const rootName = root.kind === 'record' ? this.recordFunction(root) : undefined;
    for (let record = this.pending.shift(); record !== undefined; record = this.pending.shift()) body += this.recordBody(record);
    let rootCall: string;
    if (rootName !== undefined) {
      rootCall = `const value = ${rootName}(buf, end);`;
    } else {
      const v = this.fresh('v');
      const inner = this.read(root, v);
      for (let record = this.pending.shift(); record !== undefined; record = this.pending.shift()) body += this.recordBody(record);
      rootCall = `let p = 0, ${v};\n${inner}pos = p;\nconst value = ${v};`;
    }
    const source = `"use strict";
const [truncated, trailing, precisionLoss, negativeLength, invalidUnion, invalidEnum, tooManyItems, readVarint, cursor, copyBytes, utf8, keys, values, SCRATCH, F64, F32, constants] = helpers;
let pos = 0;
${this.constants.map((_, i) => `const c${i} = constants[${i}];`).join('\n')}
${body}
return function decode(buf) {
  pos = 0;
  const end = buf.length;
  ${rootCall}
  if (pos !== end) throw trailing();
  return value;
};`;
    const keys = new Utf8Interner(KEY_SETS, KEY_MAX_BYTES);
    const values = this.internValuesUpTo > 0 ? new Utf8Interner(VALUE_SETS, this.internValuesUpTo) : undefined;
    const helpers = [truncated, trailing, precisionLoss, negativeLength, invalidUnion, invalidEnum, tooManyItems, readVarint, cursor, copyBytes, utf8, keys, values, SCRATCH, F64, F32, this.constants];
    // The schema only ever reaches the source as JSON.stringify'd names and numbers checked above.
    const decode = new Function('helpers', source)(helpers) as (body: Buffer) => unknown;
    return { decode };
  }

  private fresh(prefix: string): string {
    return `${prefix}${this.counter++}`;
  }

  private constant(value: unknown): string {
    this.constants.push(value);
    return `c${this.constants.length - 1}`;
  }

  private recordFunction(record: RecordNode): string {
    let name = this.records.get(record);
    if (name === undefined) {
      name = this.fresh('record');
      this.records.set(record, name);
      this.pending.push(record);
    }
    return name;
  }

  private recordBody(record: RecordNode): string {
    const name = this.records.get(record)!;
    const locals = record.fields.map(() => this.fresh('f'));
    let code = `function ${name}(buf, end) {\nlet p = pos${locals.map((local) => `, ${local}`).join('')};\n`;
    record.fields.forEach((field, i) => {
      code += this.read(field.type, locals[i]!);
    });
    // An object literal in schema order: V8 builds it from one boilerplate shape, fastest of all.
    const literal = record.fields.map((field, i) => `${JSON.stringify(field.name)}: ${locals[i]}`).join(', ');
    return `${code}pos = p;\nreturn { ${literal} };\n}\n`;
  }

  /** A zig-zag varint into `target` (declared); one-byte values inline, longer ones via readVarint. */
  private varint(target: string, checkSafe: boolean): string {
    const safe = checkSafe ? ` if (${target} < -${MAX_SAFE_LONG} || ${target} > ${MAX_SAFE_LONG}) throw precisionLoss();` : '';
    return `if (p >= end) throw truncated();
${target} = buf[p++];
if (${target} > 127) { ${target} = readVarint(buf, p - 1, end); p = cursor.pos;${safe} } else ${target} = (${target} >>> 1) ^ -(${target} & 1);
`;
  }

  /** A length-prefixed run of bytes: leaves its length in `n` and checks it against the input. */
  private length(n: string): string {
    return `${this.varint(n, false)}if (${n} < 0) throw negativeLength(${n});
if (!(${n} <= end - p)) throw truncated();
`;
  }

  /** A block count (negative: followed by the block's byte size, which we do not need). */
  private blockCount(n: string): string {
    return `${this.varint(n, false)}if (${n} === 0) break;
if (${n} < 0) { ${n} = -${n}; do { if (p >= end) throw truncated(); } while (buf[p++] > 127); }
`;
  }

  private string(target: string, interner: 'keys' | 'values' | undefined): string {
    const n = this.fresh('n');
    const value = interner === undefined ? `${n} === 0 ? '' : utf8(buf, p, p + ${n})` : `${interner}.get(buf, p, ${n})`;
    return `{ let ${n};\n${this.length(n)}${target} = ${value};\np += ${n}; }\n`;
  }

  private readDouble(target: string, size: 4 | 8): string {
    let copy = '';
    for (let i = 0; i < size; i++) copy += `SCRATCH[${LITTLE_ENDIAN ? i : size - 1 - i}] = buf[p + ${i}]; `;
    return `if (end - p < ${size}) throw truncated();\n${copy}\n${target} = ${size === 8 ? 'F64' : 'F32'}[0];\np += ${size};\n`;
  }

  /** Code that reads one value of `node` at `p` into the already declared variable `target`. */
  private read(node: Node, target: string): string {
    switch (node.kind) {
      case 'null':
        return `${target} = null;\n`;
      case 'boolean':
        // avsc reads any non-zero byte as true; so do we, to return what it returns.
        return `if (p >= end) throw truncated();\n${target} = buf[p++] !== 0;\n`;
      case 'int':
        // avsc does not range-check ints on read; neither do we.
        return this.varint(target, false);
      case 'long':
        return this.varint(target, true);
      case 'float':
        return this.readDouble(target, 4);
      case 'double':
        return this.readDouble(target, 8);
      case 'string':
        return this.string(target, this.internValuesUpTo > 0 ? 'values' : undefined);
      case 'bytes': {
        const n = this.fresh('n');
        return `{ let ${n};\n${this.length(n)}${target} = copyBytes(buf, p, ${n});\np += ${n}; }\n`;
      }
      case 'fixed':
        return `if (end - p < ${node.size}) throw truncated();\n${target} = copyBytes(buf, p, ${node.size});\np += ${node.size};\n`;
      case 'enum': {
        const i = this.fresh('i');
        const symbols = this.constant(node.symbols);
        return `{ let ${i};\n${this.varint(i, false)}if (!(${i} >= 0 && ${i} < ${node.symbols.length})) throw invalidEnum(${JSON.stringify(node.name)}, ${i});
${target} = ${symbols}[${i}]; }\n`;
      }
      case 'union': {
        const i = this.fresh('i');
        const cases = node.branches.map((branch, index) => `case ${index}:\n${this.read(branch, target)}break;\n`).join('');
        return `{ let ${i};\n${this.varint(i, false)}switch (${i}) {\n${cases}default: throw invalidUnion(${i});\n} }\n`;
      }
      case 'map': {
        // Keys and values first, then one object (see MapBuilder), filled in the order written like avsc's.
        const n = this.fresh('n');
        const key = this.fresh('k');
        const value = this.fresh('v');
        const keys = this.fresh('ks');
        const values = this.fresh('vs');
        const builder = this.constant(new MapBuilder());
        return `{ let ${n}, ${key}, ${value};
const ${keys} = [], ${values} = [];
for (;;) {
${this.blockCount(n)}if (!(${n} <= end - p)) throw truncated();
for (; ${n} > 0; ${n}--) {
${this.string(key, 'keys')}${this.read(node.values, value)}${keys}.push(${key});
${values}.push(${value});
}
}
${target} = ${builder}.build(${keys}, ${values}); }\n`;
      }
      case 'array': {
        const n = this.fresh('n');
        const item = this.fresh('v');
        // Each item takes at least a byte unless the type takes none: then the count alone bounds nothing.
        const bound =
          minSize(node.items) > 0
            ? `if (!(${n} <= end - p)) throw truncated();\n`
            : `if (!(${target}.length + ${n} <= ${MAX_ZERO_SIZE_ITEMS})) throw tooManyItems();\n`;
        return `{ let ${n}, ${item};
${target} = [];
for (;;) {
${this.blockCount(n)}${bound}for (; ${n} > 0; ${n}--) {
${this.read(node.items, item)}${target}.push(${item});
}
} }\n`;
      }
      case 'record': {
        return `pos = p;\n${target} = ${this.recordFunction(node)}(buf, end);\np = pos;\n`;
      }
    }
  }
}

/**
 * Compiles a reader for one writer schema (the parsed JSON of an Avro schema), or `undefined` when
 * the schema is one this module leaves to avsc. Compile once per schema: the reader keeps its caches.
 */
export function compileAvroReader(schema: unknown, options: AvroReaderOptions = {}): AvroReader | undefined {
  const internValuesUpTo = options.internValuesUpTo ?? DEFAULT_INTERN_VALUES_UP_TO;
  try {
    const root = new SchemaResolver().resolve(schema, undefined);
    return new Generator(internValuesUpTo).compile(root);
  } catch (error) {
    if (error instanceof Unsupported) return undefined;
    throw error;
  }
}
