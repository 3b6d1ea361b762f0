/**
 * The model directory: `model.json` + `weights.bin` (the tfjs layers-model format, loadable with stock
 * `tf.loadLayersModel('file://…/model.json')`), `tokenizer.json` (Keras's Tokenizer JSON) and
 * `metadata.json`. Written to a temporary sibling and renamed into place, so a crash never leaves a
 * half-written model where a good one was.
 */
import { BINARY_LABELS, type LabelSet } from '../data/labels.js';
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { LayersModel, io } from '@tensorflow/tfjs';
import type { Runtime, TF } from '../backend/index.js';
import type { Kernels } from '../kernels/index.js';
import { UserError } from '../errors.js';
import { Tokenizer } from '../text/tokenizer.js';
import { jsonExcerpt } from '../util/json.js';
import { FileRefused, readBoundedFile, recoverReplacedDir, tempSibling, writeDirStaged, writingTo } from '../util/fs.js';
import type { DataSourceInfo } from '../data/index.js';
import type { TrainOptions } from '../train/options.js';
import type { EpochLog, SelfTrainingRecord } from '../train/types.js';
import type { TextSourceInfo } from '../data/texts.js';
import type { Monitor } from '../train/control.js';
import { kernelsFor, type RecurrentImpl } from '../models/index.js';
import { fuseRecurrentLayers } from '../models/fused.js';
import { learningCurvesSvg } from '../report/curves.js';
import { parseJson, readText } from './read.js';
import type { InitRecord } from './lm-record.js';

export const METADATA_FORMAT_VERSION = 1;

/** metadata.json: what produced the model and how it did. */
export interface ModelMetadata {
  formatVersion: number;
  createdAt: string;
  cell: TrainOptions['cell'];
  /**
   * The labels, in class order (absent in models from before rnn had labels: they are binary, negative and
   * positive; {@link labelsOf} reads either).
   */
  labels?: LabelSet;
  /** Each class's weight in the training loss (`--class-weight`; absent without one). */
  classWeights?: number[];
  /** Every option training ran with. */
  hyperParameters: TrainOptions;
  /** How texts become ids; eval and predict use exactly this. */
  preprocessing: {
    tokenizer: 'keras.preprocessing.text.Tokenizer';
    numWords: number;
    maxlen: number;
    padding: TrainOptions['padding'];
    truncating: TrainOptions['truncating'];
    oovToken: string | null;
    htmlLineBreaks: 'replaced by spaces';
    /** SHA-256 of tokenizer.json, so a tokenizer from another model is caught. */
    tokenizerSha256: string;
  };
  /** The language model a classifier started from (`rnn train --init`; absent: trained from scratch). */
  init?: InitRecord;
  /**
   * Self-training (`rnn train --unlabeled`): the unlabeled texts, the teacher that labeled them and the
   * pseudo-labels kept; the model, history and dataset counts are the student's (absent: one model).
   */
  selfTraining?: SelfTrainingRecord & { source: TextSourceInfo };
  /** Where a model imported with `rnn import` came from (absent for models rnn trained). */
  imported?: {
    from: 'keras';
    /** The `.keras` archive (absolute path) and its SHA-256. */
    file: string;
    sha256: string;
    /** As the archive's metadata.json says (null when it does not). */
    kerasVersion: string | null;
    savedAt: string | null;
  };
  /**
   * The data: where it came from, reviews trained and validated on, repeats `--dedupe` dropped (absent before
   * rnn had it). Absent for an imported model: rnn does not know what Keras trained it on.
   */
  dataset?: DataSourceInfo & { trainReviews: number; validationReviews: number; truncatedShare: number; repeatsDropped?: number };
  params: { total: number; trainable: number };
  history: EpochLog[];
  /** Which epoch's weights model.json holds, and why (absent in models from rnn 0.1 before early stopping). */
  weights?: {
    /** The epoch whose weights are saved. */
    epoch: number;
    /** The best epoch by `monitor`. */
    bestEpoch: number;
    monitor: Monitor;
    /** True when training ended early (--early-stopping). */
    stoppedEarly: boolean;
    /** Sub-directory holding the last epoch's model when it is not the one saved here (e.g. `last`). */
    lastCheckpoint: string | null;
  };
  timings: { tokenizeSeconds: number; trainSeconds: number; totalSeconds: number; secondsPerEpoch: number };
  samplesPerSec: number;
  backend: { name: string; tensorflow?: string; recurrentKernels?: string; trainingStep?: string };
  versions: { rnn: string; tfjs: string; node: string };
}

/** A model's labels, in class order: metadata.json's, or the binary ones of a model from before rnn had labels. */
export function labelsOf(metadata: Pick<ModelMetadata, 'labels'>): LabelSet {
  return metadata.labels ?? BINARY_LABELS;
}

/**
 * metadata.json as read back: each field of the type rnn writes ({@link MetadataJson}), else one
 * MODEL_METADATA_INVALID naming the field (not a TypeError where the field is first used).
 */
export async function checkMetadata(metadata: unknown, file: string, fix: string): Promise<void> {
  // The schemas (and Ajv) load when a model is read, not at every command's start-up.
  const { MetadataJson, schemaProblem } = await import('./schemas.js');
  const problem = schemaProblem(MetadataJson, metadata);
  if (problem) throw new UserError('MODEL_METADATA_INVALID', `${file} is not an rnn metadata file: ${problem}`, fix);
}

/** metadata.json before saving (the tokenizer hash is added by {@link saveModelDir}). */
export type UnsavedMetadata = Omit<ModelMetadata, 'preprocessing'> & {
  preprocessing: Omit<ModelMetadata['preprocessing'], 'tokenizerSha256'>;
};

/** metadata.json's preprocessing for a model of options `o` whose tokenizer keeps `numWords` words (default: the embedding's size). */
export function preprocessingOf(
  o: Pick<TrainOptions, 'vocabSize' | 'maxlen' | 'padding' | 'truncating' | 'oovToken'>,
  numWords: number = o.vocabSize,
): UnsavedMetadata['preprocessing'] {
  return {
    tokenizer: 'keras.preprocessing.text.Tokenizer',
    numWords,
    maxlen: o.maxlen,
    padding: o.padding,
    truncating: o.truncating,
    oovToken: o.oovToken,
    htmlLineBreaks: 'replaced by spaces',
  };
}

/** A loaded model directory. */
export interface ModelDir {
  dir: string;
  model: LayersModel;
  /** The kernels the model's recurrent layer runs on (tfjs for stock tfjs-layers). */
  kernels: Kernels;
  tokenizer: Tokenizer;
  metadata: ModelMetadata;
}

const WEIGHTS = 'weights.bin';
/** Sub-directory of a model directory with the last epoch's model, when the best epoch's is the main one. */
export const LAST_CHECKPOINT = 'last';
/** Learning curves written beside the model. */
export const HISTORY_SVG = 'history.svg';

function sha256(s: string | Uint8Array): string {
  return createHash('sha256').update(s).digest('hex');
}

/** The tokenizer as saved: Keras's own `to_json()` text, and its SHA-256 (metadata.json's `tokenizerSha256`). */
export function tokenizerFile(tokenizer: Tokenizer): { text: string; sha256: string } {
  const text = tokenizer.toKerasJson() + '\n';
  return { text, sha256: sha256(text) };
}

/** Writes model.json and weights.bin of `model` into `dir` (the tfjs layers format; also a language model's). */
export async function writeModelFiles(tf: TF, dir: string, model: LayersModel): Promise<void> {
  await model.save(
    tf.io.withSaveHandler(async (artifacts: io.ModelArtifacts) => {
      const weights = new Uint8Array(tf.io.CompositeArrayBuffer.join(artifacts.weightData));
      const modelJson = {
        modelTopology: artifacts.modelTopology,
        format: artifacts.format,
        generatedBy: artifacts.generatedBy,
        convertedBy: artifacts.convertedBy ?? null,
        ...(artifacts.trainingConfig ? { trainingConfig: artifacts.trainingConfig } : {}),
        weightsManifest: [{ paths: [WEIGHTS], weights: artifacts.weightSpecs }],
      };
      await fsp.writeFile(path.join(dir, WEIGHTS), weights);
      await fsp.writeFile(path.join(dir, 'model.json'), JSON.stringify(modelJson));
      return { modelArtifactsInfo: { dateSaved: new Date(), modelTopologyType: 'JSON', weightDataBytes: weights.byteLength } };
    }),
  );
}

/** What else {@link saveModelDir} writes. */
export interface SaveExtras {
  /** The last epoch's weights (model.weights order) when the model holds an earlier, better epoch: saved under `last/`. */
  lastWeights?: Float32Array[];
  /** Other files to write into the directory (name → bytes), e.g. the language model's text fingerprints. */
  files?: Record<string, Uint8Array>;
}

/**
 * Writes the model directory atomically (a temporary sibling renamed into place): the model, tokenizer,
 * metadata (its tokenizer hash filled in here), `history.svg`, and `last/` when the last epoch is not the
 * one saved.
 */
export async function saveModelDir(
  tf: TF,
  dir: string,
  model: LayersModel,
  tokenizer: Tokenizer,
  metadata: UnsavedMetadata,
  extras: SaveExtras = {},
): Promise<ModelMetadata> {
  const target = path.resolve(dir);
  // A full or read-only file system: one UserError; the staged copy is removed and the model that was there stays.
  return writingTo(
    target,
    () => saveStaged(tf, target, model, tokenizer, metadata, extras),
    `the model that was in ${target} is unchanged`,
  );
}

async function saveStaged(
  tf: TF,
  target: string,
  model: LayersModel,
  tokenizer: Tokenizer,
  metadata: UnsavedMetadata,
  extras: SaveExtras,
): Promise<ModelMetadata> {
  return writeDirStaged(target, async (staged) => {
    await writeModelFiles(tf, staged, model);
    const tok = tokenizerFile(tokenizer);
    const full: ModelMetadata = { ...metadata, preprocessing: { ...metadata.preprocessing, tokenizerSha256: tok.sha256 } };
    await fsp.writeFile(path.join(staged, 'tokenizer.json'), tok.text);
    await fsp.writeFile(path.join(staged, 'metadata.json'), JSON.stringify(full, null, 2) + '\n');
    for (const [name, bytes] of Object.entries(extras.files ?? {})) await fsp.writeFile(path.join(staged, name), bytes);
    if (full.history.length > 0 && full.dataset) {
      const w = full.weights;
      const title =
        `${full.cell} · ${full.dataset.trainReviews.toLocaleString('en-US')} training reviews · ${full.history.length} epoch${full.history.length === 1 ? '' : 's'}` +
        (w ? ` · best epoch ${w.bestEpoch} by ${w.monitor}` : '');
      await fsp.writeFile(path.join(staged, HISTORY_SVG), learningCurvesSvg(full.history, { title, bestEpoch: w?.bestEpoch }));
    }
    if (extras.lastWeights) {
      const last = path.join(staged, LAST_CHECKPOINT);
      await fsp.mkdir(last);
      const saved = model.getWeights().map((t) => t.clone());
      const lastTensors = extras.lastWeights.map((v, i) => tf.tensor(v, saved[i]!.shape, saved[i]!.dtype));
      try {
        model.setWeights(lastTensors);
        await writeModelFiles(tf, last, model);
      } finally {
        model.setWeights(saved);
        [...saved, ...lastTensors].forEach((t) => t.dispose());
      }
      const lastEpoch = full.history.length;
      const lastMeta: ModelMetadata = { ...full, weights: full.weights && { ...full.weights, epoch: lastEpoch, lastCheckpoint: null } };
      await fsp.writeFile(path.join(last, 'tokenizer.json'), tok.text);
      await fsp.writeFile(path.join(last, 'metadata.json'), JSON.stringify(lastMeta, null, 2) + '\n');
    }
    return full;
  });
}

/** The most weight bytes rnn loads (the best preset's model has 19 MB; a manifest asking for more is not one of rnn's). */
export const MAX_WEIGHT_BYTES = 2 ** 30;

/** Bytes a stored value takes, by the manifest's quantization dtype. */
const QUANTIZED_BYTES: Record<string, number> = { none: 4, float16: 2, uint16: 2, uint8: 1 };

/** The weight files a manifest names, checked: all present, the size model.json expects, every value finite. */
async function readWeights(
  abs: string,
  manifest: io.WeightsManifestConfig,
  retrain: string,
): Promise<[io.WeightsManifestEntry[], ArrayBuffer]> {
  const modelFile = path.join(abs, 'model.json');
  const invalid = (why: string) => new UserError('MODEL_JSON_INVALID', `${modelFile} is not a tfjs layers model: ${why}`, retrain);
  // The manifest, checked before anything is read or allocated by it.
  const isList = (v: unknown): v is unknown[] => Array.isArray(v);
  if (!manifest.every((g) => g && isList(g.paths) && isList(g.weights))) throw invalid('a weightsManifest group lacks paths or weights');
  const specs = manifest.flatMap((g) => g.weights);
  const wrong = specs.find(
    (w) =>
      !w ||
      typeof w.name !== 'string' ||
      !isList(w.shape) ||
      !w.shape.every((n) => Number.isSafeInteger(n) && n >= 0) ||
      !['float32', 'int32'].includes(w.dtype) ||
      (w.quantization !== undefined && !(w.quantization?.dtype in QUANTIZED_BYTES)),
  );
  if (wrong !== undefined)
    throw invalid(`its weight ${jsonExcerpt(wrong)} has no name, a shape that is not a list of sizes, or an unknown type`);
  // Quantized weights (an `rnn export --web --quantize` model) take 1 or 2 bytes a value; tfjs dequantizes them.
  const stored = (w: io.WeightsManifestEntry): number =>
    w.shape.reduce((a, b) => a * b, 1) * QUANTIZED_BYTES[w.quantization?.dtype ?? 'none']!;
  const expected = specs.reduce((s, w) => s + stored(w), 0);
  if (!Number.isSafeInteger(expected) || expected > MAX_WEIGHT_BYTES) {
    throw invalid(`its weights would take ${expected} bytes, more than the ${MAX_WEIGHT_BYTES} rnn loads`);
  }
  const files = manifest.flatMap((g) => g.paths as unknown[]);
  const outside = files.find((p) => typeof p !== 'string' || path.isAbsolute(p) || p.split(/[\\/]/).includes('..'));
  if (outside !== undefined) throw invalid(`its weightsManifest names ${jsonExcerpt(outside)}, not a file beside model.json`);
  const buffers: Uint8Array[] = [];
  let read = 0;
  for (const p of files as string[]) {
    const file = path.join(abs, p);
    // At most what model.json expects: the size check below names the difference.
    const buf = await readBoundedFile(file, expected - read + 1).catch((e: Error & { code?: string }) => {
      if (e instanceof FileRefused && /bytes/.test(e.why))
        throw new UserError(
          'MODEL_WEIGHTS_SIZE',
          `the weights of ${abs} are larger than the ${expected} bytes model.json expects`,
          retrain,
        );
      throw new UserError(
        'MODEL_FILE_MISSING',
        e instanceof FileRefused ? e.message : e.code === 'ENOENT' ? `${file} is missing` : `cannot read ${file}: ${e.message}`,
        retrain,
      );
    });
    read += buf.length;
    buffers.push(buf);
  }
  const data = Buffer.concat(buffers);
  if (data.byteLength !== expected) {
    throw new UserError(
      'MODEL_WEIGHTS_SIZE',
      `the weights of ${abs} are ${data.byteLength} bytes, model.json expects ${expected}`,
      retrain,
    );
  }
  let offset = 0;
  for (const w of specs) {
    const n = stored(w);
    if (!w.quantization && w.dtype === 'float32') {
      const floats = new Float32Array(data.buffer, data.byteOffset + offset, n / 4);
      for (let i = 0; i < floats.length; i++) {
        if (!Number.isFinite(floats[i]!)) {
          throw new UserError(
            'MODEL_WEIGHTS_NOT_FINITE',
            `the weights of ${abs} contain ${Number.isNaN(floats[i]!) ? 'NaN' : 'infinite'} values (training diverged, or the file is damaged)`,
            'Retrain (a lower --lr helps a diverging run) or restore the model from a copy',
          );
        }
      }
    }
    offset += n;
  }
  return [specs, data.buffer.slice(data.byteOffset, data.byteOffset + data.byteLength) as ArrayBuffer];
}

/**
 * A model directory's files, read and cross-checked without TensorFlow ({@link readModelDir}): everything
 * {@link loadModelDir} checks except what needs tfjs to build the model.
 */
export interface ModelFiles {
  /** The directory as given (named in the fix of a later problem) and its absolute path. */
  given: string;
  dir: string;
  layers: LayersModelFiles;
  tokenizer: Tokenizer;
  metadata: ModelMetadata;
}

/** model.json, parsed and checked, and its weights, read and checked ({@link readWeights}). */
export interface LayersModelFiles {
  modelJson: io.ModelJSON;
  weights: [io.WeightsManifestEntry[], ArrayBuffer];
}

/**
 * Reads and cross-checks a model directory without loading TensorFlow, so a command can report a missing or
 * broken model before paying for it; every problem is a UserError naming the file. {@link loadModelFiles} builds
 * the model from what it read.
 */
export async function readModelDir(dir: string): Promise<ModelFiles> {
  const abs = path.resolve(dir);
  await recoverReplacedDir(abs); // a save that crashed between its two renames
  const st = await fsp.stat(abs).catch(() => undefined);
  if (!st?.isDirectory())
    throw new UserError('MODEL_NOT_FOUND', `model directory ${abs} does not exist`, 'Train one with `rnn train` or pass --model DIR');
  const retrain = retrainFix(dir);
  await refuseLanguageModel(abs);
  const layers = await readLayersModelFiles(abs, retrain);
  const tokFile = path.join(abs, 'tokenizer.json');
  const tokText = await readText(tokFile, retrain);
  const tokenizer = Tokenizer.fromJSON(parseJson(tokText, tokFile, retrain, 'MODEL_TOKENIZER_INVALID'), { file: tokFile, fix: retrain });
  const metaFile = path.join(abs, 'metadata.json');
  const metadata = parseJson<ModelMetadata>(await readText(metaFile, retrain), metaFile, retrain);
  if (typeof metadata?.formatVersion !== 'number') await checkMetadata(metadata, metaFile, retrain);
  if (metadata.formatVersion !== METADATA_FORMAT_VERSION) {
    throw new UserError(
      'MODEL_FORMAT_UNSUPPORTED',
      `${metaFile} has format version ${metadata.formatVersion}; this rnn reads version ${METADATA_FORMAT_VERSION}`,
      'Retrain the model with this version of rnn',
    );
  }
  await checkMetadata(metadata, metaFile, retrain);
  if (sha256(tokText) !== metadata.preprocessing?.tokenizerSha256) {
    throw new UserError(
      'MODEL_TOKENIZER_MISMATCH',
      `${tokFile} is not the tokenizer this model was trained with (its hash differs from metadata.json)`,
      'Copy the tokenizer.json that was saved with the model, or retrain',
    );
  }
  return { given: dir, dir: abs, layers, tokenizer, metadata };
}

function retrainFix(dir: string): string {
  return `Retrain with \`rnn train --out ${dir}\` or pass --model with a complete model directory`;
}

/**
 * Builds the model {@link readModelDir} read and checks it against the tokenizer and metadata. It is loaded with
 * stock tfjs-layers, then (unless `layers` is `stock`) its recurrent layer runs the fused op on the run's kernels.
 */
export async function loadModelFiles(run: Runtime, files: ModelFiles, layers: RecurrentImpl = 'fused'): Promise<ModelDir> {
  const { tf } = run;
  const { dir: abs, tokenizer, metadata } = files;
  const retrain = retrainFix(files.given);
  const modelFile = path.join(abs, 'model.json');
  const tokFile = path.join(abs, 'tokenizer.json');
  const model = await layersModelOf(tf, files.layers, modelFile, retrain);
  const inputShape = model.inputs[0]?.shape;
  if (inputShape && inputShape[1] !== null && inputShape[1] !== metadata.preprocessing.maxlen) {
    throw new UserError(
      'MODEL_METADATA_MISMATCH',
      `${modelFile} takes sequences of ${inputShape[1]} ids but metadata.json says maxlen ${metadata.preprocessing.maxlen}`,
      retrain,
    );
  }
  const inputDim = (model.layers[0]?.getConfig() as { inputDim?: number }).inputDim;
  const numWords = tokenizer.options.numWords;
  if (inputDim !== undefined && (numWords === null || numWords > inputDim)) {
    throw new UserError(
      'MODEL_TOKENIZER_MISMATCH',
      `${tokFile} keeps ${numWords ?? 'all'} words but the model's embedding takes ${inputDim} ids`,
      'Use the tokenizer.json saved with this model, or retrain',
    );
  }
  const kernels = kernelsFor(layers, run.kernels);
  if (layers === 'fused') fuseRecurrentLayers(tf, model, kernels);
  return { dir: abs, model, kernels, tokenizer, metadata };
}

/**
 * Loads and cross-checks a model directory ({@link readModelDir}, then {@link loadModelFiles}); every problem is a
 * UserError naming the file.
 */
export async function loadModelDir(run: Runtime, dir: string, layers: RecurrentImpl = 'fused'): Promise<ModelDir> {
  return loadModelFiles(run, await readModelDir(dir), layers);
}

/** model.json and its weights, read and checked without TensorFlow (see {@link readWeights}). */
export async function readLayersModelFiles(abs: string, retrain: string): Promise<LayersModelFiles> {
  const modelFile = path.join(abs, 'model.json');
  const modelJson = parseJson<io.ModelJSON>(await readText(modelFile, retrain), modelFile, retrain);
  if (!modelJson.modelTopology || !Array.isArray(modelJson.weightsManifest)) {
    throw new UserError('MODEL_JSON_INVALID', `${modelFile} is not a tfjs layers model (no modelTopology or weightsManifest)`, retrain);
  }
  return { modelJson, weights: await readWeights(abs, modelJson.weightsManifest, retrain) };
}

async function layersModelOf(tf: TF, files: LayersModelFiles, modelFile: string, retrain: string): Promise<LayersModel> {
  const artifacts = await tf.io.getModelArtifactsForJSON(files.modelJson, () => Promise.resolve(files.weights));
  try {
    return await tf.loadLayersModel(tf.io.fromMemory(artifacts));
  } catch (e) {
    throw new UserError('MODEL_JSON_INVALID', `${modelFile} could not be loaded: ${(e as Error).message.split('\n')[0]}`, retrain);
  }
}

/**
 * model.json and its weights, checked (see {@link readWeights}), loaded with stock tfjs-layers. Every problem is a
 * UserError naming the file, with `retrain` as the fix.
 */
export async function readLayersModel(tf: TF, abs: string, retrain: string): Promise<LayersModel> {
  return layersModelOf(tf, await readLayersModelFiles(abs, retrain), path.join(abs, 'model.json'), retrain);
}

/** A language model directory (`rnn pretrain`) where a classifier is expected: MODEL_IS_LANGUAGE_MODEL, saying what to do with it. */
export async function refuseLanguageModel(abs: string): Promise<void> {
  // A metadata.json that is missing or not JSON is no language model: the reader that follows names the problem.
  const meta = await fsp
    .readFile(path.join(abs, 'metadata.json'), 'utf8')
    .then((t) => JSON.parse(t) as { kind?: unknown } | null)
    .catch(() => undefined);
  if (meta?.kind === 'language-model') {
    throw new UserError(
      'MODEL_IS_LANGUAGE_MODEL',
      `${abs} is a language model (rnn pretrain), not a sentiment classifier`,
      `Train a classifier from it with \`rnn train --cell CELL --init ${abs}\` and pass that model`,
    );
  }
}

/** `models/latest`: a symlink to the newest model, replaced atomically. */
export async function pointLatest(modelsDir: string, target: string): Promise<void> {
  const link = path.join(modelsDir, 'latest');
  const rel = path.relative(modelsDir, path.resolve(target));
  const dest = rel.startsWith('..') || path.isAbsolute(rel) ? path.resolve(target) : rel;
  await writingTo(link, async () => {
    await fsp.mkdir(modelsDir, { recursive: true });
    const tmp = tempSibling(link);
    await fsp.symlink(dest, tmp);
    await fsp.rename(tmp, link);
  });
}

/** The directory `rnn eval`/`predict` use without --model: `models/latest`. */
export async function resolveModelDir(modelsDir: string, explicit: string | undefined): Promise<string> {
  if (explicit) return path.resolve(explicit);
  const link = path.join(modelsDir, 'latest');
  try {
    return path.resolve(modelsDir, await fsp.readlink(link));
  } catch {
    throw new UserError(
      'MODEL_NOT_FOUND',
      `no trained model in ${modelsDir} (models/latest is missing)`,
      'Train one with `rnn train --cell lstm`, or pass --model DIR',
    );
  }
}
