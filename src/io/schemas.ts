/**
 * The shapes of the JSON files rnn reads back (metadata.json, checkpoint.json, eval.json), as JSON Schema (built
 * with TypeBox's names and checked by Ajv: src/io/json-schema.ts, which says why not TypeBox itself) checked
 * when the file is read: a field of another type (a mutated or hand-edited file) is one clear error naming
 * the field, not a TypeError wherever the field is first used ("s.replace is not a function", "shape.forEach
 * is not a function": findings of the fuzz campaign, test/fuzz). Fields are optional where an older rnn did
 * not write them; sizes are bounded where an absurd one would only fill memory.
 */
import { Type, type TSchema } from './json-schema.js';
import { CELLS, POOLINGS } from '../cells.js';
import { PAD_SIDES } from '../text/pad.js';
import { MONITORS } from '../train/control.js';

const literals = (values: readonly string[]) => Type.Union(values.map((v) => Type.Literal(v)));
const Count = Type.Integer({ minimum: 0 });
/** A size of a layer or of the data: positive, and small enough to allocate. */
const Size = (maximum: number) => Type.Integer({ minimum: 1, maximum });
const Num = Type.Number();
const NullableNum = Type.Union([Type.Number(), Type.Null()]);

const LrScheduleJson = Type.Union([
  Type.Object({ kind: Type.Literal('constant') }),
  Type.Object({ kind: Type.Literal('plateau'), factor: Num, patience: Count, minLr: Num }),
  Type.Object({ kind: Type.Literal('exponential'), gamma: Num }),
  Type.Object({ kind: Type.Literal('cosine'), minLr: Num }),
  Type.Object({ kind: Type.Literal('slanted'), cutFrac: Num, ratio: Num }),
]);

const EpochLog = Type.Object({
  epoch: Count,
  loss: Num,
  acc: Num,
  val_loss: Type.Optional(Num),
  val_acc: Type.Optional(Num),
  lr: Num,
  best: Type.Boolean(),
  seconds: Num,
  samplesPerSec: Num,
});

/** TrainOptions (src/train/options.ts): what a checkpoint resumes with, and metadata.json's hyperParameters. */
export const TrainOptionsJson = Type.Object({
  cell: literals(CELLS),
  preset: Type.Optional(Type.String()),
  epochs: Size(1_000_000),
  batchSize: Size(2 ** 20),
  lr: Type.Number({ exclusiveMinimum: 0 }),
  validationSplit: Type.Number({ minimum: 0, exclusiveMaximum: 1 }),
  seed: Num,
  limit: Type.Optional(Size(2 ** 31)),
  dedupe: Type.Boolean(),
  vocabSize: Size(2 ** 24),
  embeddingDim: Size(2 ** 16),
  maxlen: Size(2 ** 20),
  units: Size(2 ** 16),
  bidirectional: Type.Boolean(),
  pooling: Type.Optional(literals(POOLINGS)),
  padding: literals(PAD_SIDES),
  truncating: literals(PAD_SIDES),
  oovToken: Type.Union([Type.String(), Type.Null()]),
  layers: Type.Optional(literals(['fused', 'stock'])),
  monitor: literals(MONITORS),
  restoreBest: Type.Boolean(),
  earlyStopping: Type.Optional(Count),
  lrSchedule: LrScheduleJson,
  ema: Type.Optional(NullableNum),
  wordDropout: Type.Optional(Type.Number({ minimum: 0, exclusiveMaximum: 1 })),
  clipNorm: Type.Optional(NullableNum),
  classes: Type.Optional(Size(2 ** 16)),
  classWeight: Type.Optional(Type.Union([Type.Literal('balanced'), Type.Array(Num)])),
  init: Type.Optional(Type.String()),
  initLrScale: Type.Optional(Type.Number({ exclusiveMinimum: 0 })),
  gradualUnfreezing: Type.Optional(Type.Literal(true)),
  unlabeled: Type.Optional(Type.String()),
  pseudoShare: Type.Optional(Type.Number({ exclusiveMinimum: 0, maximum: 1 })),
  studentEpochs: Type.Optional(Size(1_000_000)),
});

/** What a self-training run records of its teacher and pseudo-labels (src/train/types.ts SelfTrainingRecord). */
const selfTrainingFields = {
  unlabeledTexts: Count,
  pool: Count,
  share: Num,
  predicted: Type.Array(Count),
  kept: Type.Array(Count),
  teacher: Type.Object({ history: Type.Array(EpochLog), weightsEpoch: Count, bestEpoch: Count }),
};

const DataSource = Type.Object({
  kind: Type.String(),
  path: Type.String(),
  url: Type.Optional(Type.String()),
  sha256: Type.String(),
  bytes: Type.Optional(Count),
});

/** PretrainOptions (src/train/pretrain.ts): what a pretraining checkpoint resumes with, and a language model's metadata records. */
const PretrainOptionsJson = Type.Object({
  cell: literals(CELLS),
  vocabSize: Size(2 ** 24),
  embeddingDim: Size(2 ** 16),
  units: Size(2 ** 16),
  oovToken: Type.Union([Type.String(), Type.Null()]),
  layers: literals(['fused', 'stock']),
  epochs: Size(1_000_000),
  batchSize: Size(2 ** 20),
  bptt: Size(2 ** 20),
  /** Absent in language models saved before it existed: `stream`. */
  layout: Type.Optional(literals(['rows', 'stream'])),
  lr: Type.Number({ exclusiveMinimum: 0 }),
  lrSchedule: LrScheduleJson,
  clipNorm: NullableNum,
  softmax: literals(['sampled', 'full']),
  samples: Size(2 ** 24),
  wordDropout: Type.Number({ minimum: 0, exclusiveMaximum: 1 }),
  validationSplit: Type.Number({ minimum: 0, exclusiveMaximum: 1 }),
  seed: Num,
  limit: Type.Optional(Size(2 ** 31)),
});

/** One epoch of pretraining (LmEpochLog, src/train/pretrain.ts). */
const LmEpochLogJson = Type.Object({
  epoch: Count,
  loss: Num,
  val_loss: Type.Optional(Num),
  val_perplexity: Type.Optional(Num),
  val_acc: Type.Optional(Num),
  lr: Num,
  best: Type.Boolean(),
  seconds: Num,
  tokensPerSec: Num,
});

/** checkpoint.json (src/io/checkpoint.ts) of a run of `options` whose epochs log `epochLog`. */
const checkpointJson = (options: TSchema, epochLog: TSchema) =>
  Type.Object({
    formatVersion: Type.Number(),
    createdAt: Type.String(),
    kind: Type.Optional(Type.Literal('pretrain')),
    options,
    out: Type.String(),
    data: Type.Object({
      flags: Type.Object({
        data: Type.Optional(Type.String()),
        textColumn: Type.Optional(Type.String()),
        labelColumn: Type.Optional(Type.String()),
        testSplit: Type.Optional(Num),
        splitColumn: Type.Optional(Type.String()),
        target: Type.Optional(Type.String()),
        labels: Type.Optional(Type.Array(Type.String())),
        allowTestText: Type.Optional(Type.Boolean()),
      }),
      source: DataSource,
      unlabeled: Type.Optional(DataSource),
    }),
    state: Type.Object({
      epoch: Size(1_000_000),
      batch: Count,
      order: Type.Array(Count),
      rngState: Num,
      sums: Type.Object({ loss: Num, acc: Num, seen: Num }),
      epochTrainSeconds: Num,
      history: Type.Array(epochLog),
      tracker: Type.Object({ best: NullableNum, bestEpoch: Count, wait: Count }),
      scheduler: Type.Object({ current: Num, wait: Count }),
      trainOnlySeconds: Num,
      trainedSamples: Num,
      averageUpdates: Type.Optional(Count),
      student: Type.Optional(
        Type.Object({
          picked: Type.Object({ index: Type.Array(Count), label: Type.Array(Count) }),
          record: Type.Object(selfTrainingFields),
        }),
      ),
    }),
    tensors: Type.Array(
      Type.Object({
        group: literals(['weights', 'optimizer', 'best', 'average']),
        name: Type.Optional(Type.String()),
        shape: Type.Optional(Type.Array(Count)),
        dtype: literals(['float32', 'int32']),
        offset: Count,
        length: Count,
      }),
    ),
  });

/** checkpoint.json of `rnn train`. */
export const CheckpointJson = checkpointJson(TrainOptionsJson, EpochLog);
/** checkpoint.json of `rnn pretrain`. */
export const PretrainCheckpointJson = checkpointJson(PretrainOptionsJson, LmEpochLogJson);

/** A language model directory's metadata.json (src/io/lm-dir.ts), as far as rnn reads it back. */
export const LanguageModelMetadataJson = Type.Object({
  formatVersion: Type.Number(),
  kind: Type.Literal('language-model'),
  createdAt: Type.String(),
  cell: literals(CELLS),
  options: PretrainOptionsJson,
  preprocessing: Type.Object({
    numWords: Type.Union([Size(2 ** 24), Type.Null()]),
    oovToken: Type.Union([Type.String(), Type.Null()]),
    tokenizerSha256: Type.String(),
  }),
  texts: Type.Object({
    kind: Type.String(),
    path: Type.String(),
    sha256: Type.String(),
    includesTest: Type.Boolean(),
    parts: Type.Record(Type.String(), Count),
    texts: Count,
    fingerprintsSha256: Type.String(),
  }),
  params: Type.Object({ total: Count, trainable: Count }),
  history: Type.Array(LmEpochLogJson),
  weights: Type.Object({ epoch: Count, bestEpoch: Count }),
  weightsSha256: Type.String(),
  samplesPerSec: Type.Optional(Num),
  backend: Type.Object({ name: Type.String() }),
  versions: Type.Record(Type.String(), Type.String()),
});

/** metadata.json (src/io/model-dir.ts), as far as rnn reads it back. */
export const MetadataJson = Type.Object({
  formatVersion: Type.Number(),
  createdAt: Type.String(),
  cell: literals(CELLS),
  hyperParameters: Type.Optional(Type.Partial(TrainOptionsJson)),
  preprocessing: Type.Object({
    numWords: Type.Union([Size(2 ** 24), Type.Null()]),
    maxlen: Size(2 ** 20),
    padding: literals(PAD_SIDES),
    truncating: literals(PAD_SIDES),
    oovToken: Type.Union([Type.String(), Type.Null()]),
    tokenizerSha256: Type.String(),
  }),
  init: Type.Optional(
    Type.Object({
      path: Type.String(),
      weightsSha256: Type.String(),
      tokenizerSha256: Type.String(),
      texts: Type.Object({ kind: Type.String(), path: Type.String(), sha256: Type.String(), includesTest: Type.Boolean() }),
    }),
  ),
  selfTraining: Type.Optional(Type.Object({ ...selfTrainingFields, source: DataSource })),
  imported: Type.Optional(
    Type.Object({
      from: Type.String(),
      file: Type.String(),
      sha256: Type.String(),
      kerasVersion: Type.Union([Type.String(), Type.Null()]),
      savedAt: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
  dataset: Type.Optional(
    Type.Object({
      kind: Type.String(),
      path: Type.Optional(Type.String()),
      sha256: Type.Optional(Type.String()),
      trainReviews: Count,
      validationReviews: Count,
      truncatedShare: Num,
      repeatsDropped: Type.Optional(Count),
      columns: Type.Optional(Type.Object({ text: Type.String(), label: Type.String() })),
    }),
  ),
  labels: Type.Optional(Type.Object({ names: Type.Array(Type.String(), { minItems: 2 }), numeric: Type.Boolean() })),
  classWeights: Type.Optional(Type.Array(Num)),
  params: Type.Object({ total: Count, trainable: Count }),
  history: Type.Array(EpochLog),
  weights: Type.Optional(
    Type.Object({
      epoch: Count,
      bestEpoch: Count,
      monitor: Type.String(),
      stoppedEarly: Type.Boolean(),
      lastCheckpoint: Type.Union([Type.String(), Type.Null()]),
    }),
  ),
  timings: Type.Record(Type.String(), Num),
  samplesPerSec: Num,
  backend: Type.Object({ name: Type.String() }),
  versions: Type.Record(Type.String(), Type.String()),
});

/** A binary model's metrics (src/eval/metrics.ts); a ROC-AUC of one class only, NaN, was written as null. */
const BinaryMetrics = Type.Object({
  loss: NullableNum,
  accuracy: Num,
  precision: Num,
  recall: Num,
  f1: Num,
  rocAuc: NullableNum,
  confusion: Type.Object({ tp: Count, fp: Count, tn: Count, fn: Count }),
  count: Count,
});

/** A k-class model's metrics (src/eval/classes.ts). */
const ClassMetrics = Type.Object({
  count: Count,
  accuracy: Num,
  macroF1: Num,
  weightedF1: Num,
  logLoss: NullableNum,
  perClass: Type.Array(Type.Object({ label: Type.String(), precision: Num, recall: Num, f1: Num, support: Count }), { maxItems: 2 ** 16 }),
  confusion: Type.Array(Type.Array(Count, { maxItems: 2 ** 16 }), { maxItems: 2 ** 16 }),
  meanAbsoluteError: Type.Optional(NullableNum),
  withinOneStep: Type.Optional(NullableNum),
});

/** eval.json (src/io/catalog.ts): the last `rnn eval` of a model (`scope` is absent in records of an older rnn). */
export const EvalJson = Type.Object({
  evaluatedAt: Type.String(),
  data: Type.Object({
    path: Type.String(),
    reviews: Count,
    scope: Type.Optional(literals(['test split', 'held-out rows', 'training data'])),
  }),
  metrics: Type.Union([BinaryMetrics, ClassMetrics]),
  samplesPerSec: NullableNum,
});

export { schemaProblem } from './json-schema.js';
