/**
 * JSON Schema for the files rnn reads back (src/io/schemas.ts), written with TypeBox's names (`Type.Object`,
 * `Type.Optional`, …) and checked by Ajv, the validator fastify itself compiles its schemas with.
 *
 * Why not TypeBox here (the server keeps it, as fastify's type provider): importing TypeBox's `Type` and `Value`
 * loads some 700 modules, ~0.5 CPU-s at the start of every command that reads a model (`rnn list` took 0.9 s,
 * most of it that). These files need only the JSON Schema, so this is the few builders they use; Ajv (one
 * package, loaded when a file is first checked) reports in the same words ("must be integer").
 */
import { Ajv, type ValidateFunction } from 'ajv';

/** A JSON Schema. */
export type TSchema = Readonly<Record<string, unknown>>;

/** Marks a property of {@link Type.Object} as one it may lack (not part of the schema written out). */
const OPTIONAL = Symbol('optional');
type Optional = TSchema & { [OPTIONAL]?: true };

type Bounds = Readonly<{ minimum?: number; maximum?: number; exclusiveMinimum?: number; exclusiveMaximum?: number }>;

/** The builders src/io/schemas.ts uses, as TypeBox spells them; each returns plain JSON Schema. */
export const Type = {
  Object(properties: Readonly<Record<string, Optional>>): TSchema {
    const props: Record<string, TSchema> = {};
    const required: string[] = [];
    for (const [k, s] of Object.entries(properties)) {
      const { [OPTIONAL]: optional, ...schema } = s;
      props[k] = schema;
      if (!optional) required.push(k);
    }
    return { type: 'object', properties: props, ...(required.length > 0 && { required }) };
  },
  /** Every property optional. */
  Partial(object: TSchema): TSchema {
    const { required: _r, ...rest } = object;
    return rest;
  },
  /** An object of any keys, each value of `value`. */
  Record(_key: TSchema, value: TSchema): TSchema {
    return { type: 'object', additionalProperties: value };
  },
  Optional(schema: TSchema): Optional {
    return { ...schema, [OPTIONAL]: true };
  },
  Union(schemas: readonly TSchema[]): TSchema {
    return { anyOf: [...schemas] };
  },
  Literal(value: string | number | boolean): TSchema {
    return { type: typeof value, const: value };
  },
  Array(items: TSchema, bounds: Readonly<{ minItems?: number; maxItems?: number }> = {}): TSchema {
    return { type: 'array', items, ...bounds };
  },
  Integer: (bounds: Bounds = {}): TSchema => ({ type: 'integer', ...bounds }),
  Number: (bounds: Bounds = {}): TSchema => ({ type: 'number', ...bounds }),
  String: (): TSchema => ({ type: 'string' }),
  Boolean: (): TSchema => ({ type: 'boolean' }),
  Null: (): TSchema => ({ type: 'null' }),
};

let ajv: Ajv | undefined;
const compiled = new WeakMap<TSchema, ValidateFunction>();

/** Why `value` is not of `schema`: the first wrong field and what it must be; undefined when it is. */
export function schemaProblem(schema: TSchema, value: unknown): string | undefined {
  let validate = compiled.get(schema);
  if (!validate) {
    ajv ??= new Ajv({ allErrors: true });
    validate = ajv.compile(schema);
    compiled.set(schema, validate);
  }
  if (validate(value)) return undefined;
  const errors = validate.errors!;
  // The deepest path is the field itself (a union also reports its parent).
  const first = errors.reduce((a, e) => (e.instancePath.length > a.instancePath.length ? e : a), errors[0]!);
  const field = first.instancePath.replace(/^\//, '').replace(/\//g, '.') || 'the whole file';
  // In TypeBox's words, as these messages always were: every missing property at once, "must not".
  const missing = errors.filter((e) => e.keyword === 'required' && e.instancePath === first.instancePath);
  const message =
    first.keyword === 'required'
      ? `must have required properties ${missing.map((e) => (e.params as { missingProperty: string }).missingProperty).join(', ')}`
      : first.message!.replace('must NOT', 'must not');
  return `${field} ${message}`;
}
