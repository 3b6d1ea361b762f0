/**
 * src/io/json-schema.ts against TypeBox itself (the library it stands in for in src/io): each builder writes the
 * JSON Schema TypeBox's builder of the same name writes, and on the schemas rnn reads its files with, Ajv's
 * verdicts and messages are TypeBox's `Value.Check` / `Value.Errors`' on valid, partial and broken values.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import * as TypeBox from 'typebox';
import { Value } from 'typebox/value';
import { Type, schemaProblem, type TSchema } from '../../src/io/json-schema.js';
import { CheckpointJson, EvalJson, LanguageModelMetadataJson, MetadataJson, TrainOptionsJson } from '../../src/io/schemas.js';
import { lrSchedule } from '../../src/cli/options.js';
import { resolveTrainOptions } from '../../src/train/options.js';

/** JSON Schema as JSON, with TypeBox's `Record` (patternProperties "^.*$") spelled as additionalProperties. */
function normal(s: unknown): unknown {
  if (Array.isArray(s)) return s.map(normal);
  if (typeof s !== 'object' || s === null) return s;
  const o = { ...(s as Record<string, unknown>) };
  if (o.patternProperties) o.additionalProperties = Object.values(o.patternProperties as object)[0];
  delete o.patternProperties;
  if (Array.isArray(o.required)) o.required = [...(o.required as string[])].sort();
  return Object.fromEntries(Object.entries(o).map(([k, v]) => [k, normal(v)]));
}

// The same schema twice: the first builder is ours, the second TypeBox's.
const both = <T>(build: (T: typeof Type) => T): [T, T] => [build(Type), build(TypeBox.Type as unknown as typeof Type)];

test("each builder writes TypeBox's JSON Schema", () => {
  const [a, b] = both((T) => [
    T.Object({
      a: T.Optional(T.Integer({ minimum: 0, maximum: 9 })),
      b: T.Number({ exclusiveMinimum: 0, exclusiveMaximum: 1 }),
      c: T.Union([T.Literal('x'), T.Literal(2), T.Literal(true), T.Null()]),
      d: T.Array(T.String(), { minItems: 2, maxItems: 5 }),
      e: T.Record(T.String(), T.Boolean()),
      f: T.Partial(T.Object({ g: T.String(), h: T.Optional(T.Number()) })),
    }),
    T.Object({ only: T.Optional(T.String()) }),
  ]);
  assert.deepEqual(normal(JSON.parse(JSON.stringify(a))), normal(JSON.parse(JSON.stringify(b))));
});

const [ours, theirs] = both((T) =>
  T.Object({
    n: T.Integer({ minimum: 1, maximum: 100 }),
    kind: T.Union([T.Literal('a'), T.Literal('b')]),
    opt: T.Optional(T.Object({ x: T.Number(), xs: T.Array(T.Integer({ minimum: 0 }), { maxItems: 3 }) })),
    tags: T.Record(T.String(), T.String()),
    maybe: T.Union([T.String(), T.Null()]),
  }),
);

const values: unknown[] = [
  { n: 5, kind: 'a', tags: {}, maybe: null },
  { n: 5, kind: 'b', tags: { k: 'v' }, maybe: 's', opt: { x: 1.5, xs: [0, 1] }, extra: 'kept' },
  { n: 0, kind: 'a', tags: {}, maybe: null },
  { n: 1.5, kind: 'a', tags: {}, maybe: null },
  { n: 5, kind: 'c', tags: {}, maybe: null },
  { n: 5, kind: 'a', tags: { k: 1 }, maybe: null },
  { n: 5, kind: 'a', tags: {}, maybe: 3 },
  { n: 5, kind: 'a', tags: {}, maybe: null, opt: { x: '1', xs: [] } },
  { n: 5, kind: 'a', tags: {}, maybe: null, opt: { x: 1, xs: [1, 2, 3, 4] } },
  { n: 5, kind: 'a', tags: {}, maybe: null, opt: { x: 1, xs: [-1] } },
  { kind: 'a', tags: {}, maybe: null },
  { n: 5, kind: 'a', maybe: null },
  { kind: 'a', maybe: null },
  [],
  null,
  'metadata',
];

/** TypeBox's message for a value, chosen as schemaProblem chooses (the deepest path). */
function typeboxProblem(schema: TSchema, value: unknown): string | undefined {
  if (Value.Check(schema as never, value)) return undefined;
  const errors = Value.Errors(schema as never, value);
  const first = errors.reduce((a, e) => (e.instancePath.length > a.instancePath.length ? e : a), errors[0]!);
  return `${first.instancePath.replace(/^\//, '').replace(/\//g, '.') || 'the whole file'} ${first.message}`;
}

test("Ajv's verdicts and messages are TypeBox's, on valid, partial and broken values", () => {
  const got = values.map((v) => schemaProblem(ours, v));
  assert.deepEqual(
    got,
    values.map((v) => typeboxProblem(theirs as TSchema, v)),
  );
  assert.deepEqual(got.slice(0, 5), [undefined, undefined, 'n must be >= 1', 'n must be integer', 'kind must be equal to constant']);
  assert.equal(got.at(-3), 'the whole file must be object');
});

test("on rnn's own schemas, Ajv accepts and refuses what TypeBox's checker does", () => {
  // TypeBox checks plain JSON Schema too: the schemas rnn reads files with, on values of every kind.
  const schemas = { MetadataJson, CheckpointJson, EvalJson, LanguageModelMetadataJson };
  const samples: unknown[] = [
    {},
    { formatVersion: 1, createdAt: 'x', cell: 'lstm' },
    { formatVersion: 1, createdAt: 'x', cell: 'cnn' },
    { metrics: { accuracy: 0.5 }, samplesPerSec: null, reviews: 10 },
    { kind: 'language-model', formatVersion: 1 },
    null,
    [1],
  ];
  for (const [name, schema] of Object.entries(schemas))
    for (const v of samples)
      assert.equal(schemaProblem(schema, v) === undefined, Value.Check(schema as never, v), `${name} on ${JSON.stringify(v)}`);
});

test('every schedule --lr-schedule parses, and --init with its layer rates, are options a checkpoint and metadata.json hold', () => {
  for (const spec of ['constant', 'cosine', 'plateau:0.2:3', 'exponential:0.9', 'slanted', 'slanted:0.2:10']) {
    const o = resolveTrainOptions({
      cell: 'lstm',
      seed: 1,
      lrSchedule: lrSchedule(spec),
      init: '/lm',
      initLrScale: 0.5,
      gradualUnfreezing: true,
    });
    const json = JSON.parse(JSON.stringify(o));
    assert.equal(schemaProblem(TrainOptionsJson, json), undefined, spec);
  }
});
