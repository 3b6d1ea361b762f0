/**
 * The bridge to Keras 3, both ways, with no Python: {@link exportKeras} writes a model directory as a
 * `.keras` archive that `keras.saving.load_model` opens with no custom objects (and the tokenizer beside it,
 * in Keras's own `to_json()` form, and the labels when they are not the binary negative/positive);
 * {@link importKeras} reads such an archive, saved by Keras or by rnn, into a model directory every command
 * takes. Weights cross as they are: Keras and tfjs lay them out alike.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import type { Runtime } from '../backend/index.js';
import { BINARY_LABELS, isBinaryLabels, isNumericLabel, labelNamesProblem, labelSetOf, type LabelSet } from '../data/labels.js';
import { UserError } from '../errors.js';
import {
  labelsOf,
  loadModelDir,
  preprocessingOf,
  saveModelDir,
  tokenizerFile,
  METADATA_FORMAT_VERSION,
  type ModelMetadata,
} from '../io/model-dir.js';
import { readJsonFile } from '../io/read.js';
import { tfjsKernels } from '../kernels/index.js';
import { BINARY_CLASSES, buildModel, classesOf, summarize, topologyOf } from '../models/index.js';
import { Tokenizer } from '../text/tokenizer.js';
import type { PadSide } from '../text/pad.js';
import { resolveTrainOptions } from '../train/options.js';
import { exists, writeFileAtomic, writeJsonAtomic } from '../util/fs.js';
import { ENTRIES, readArchive, writeArchive, type ArchiveLimits } from './archive.js';
import { readWeightsH5, writeWeightsH5 } from './h5.js';
import { h5Groups, kerasConfig, KERAS_VERSION, readKerasConfig, weightSlots, type KerasModelSpec } from './spec.js';

export { SUPPORTED_SHAPE, type KerasModelSpec } from './spec.js';
export { ARCHIVE_LIMITS, type ArchiveLimits } from './archive.js';

/** The tokenizer written beside `model.keras`: `model.tokenizer.json`. */
export function tokenizerBeside(kerasFile: string): string {
  return kerasFile.replace(/\.keras$/i, '') + '.tokenizer.json';
}

/**
 * The labels written beside `model.keras`: `model.labels.json`, `{ "names": [...], "numeric": false }` (a
 * {@link LabelSet}, the model's class order). A Keras archive does not name its classes; this file carries them.
 */
export function labelsBeside(kerasFile: string): string {
  return kerasFile.replace(/\.keras$/i, '') + '.labels.json';
}

/** What {@link exportKeras} wrote. */
export interface KerasExport {
  /** The `.keras` archive (absolute). */
  file: string;
  /** Its size in bytes. */
  bytes: number;
  /** The tokenizer beside it (absolute). */
  tokenizer: string;
  /**
   * The labels file beside it (absolute) and the labels it holds; absent when the labels are the binary
   * negative and positive, which import assumes of a Dense(1, sigmoid) model without one.
   */
  labels?: LabelSet & { file: string };
  /** The model's shape. */
  spec: KerasModelSpec;
  /** The preprocessing Keras must repeat: maxlen, padding and truncating of `pad_sequences`. */
  preprocessing: Pick<ModelMetadata['preprocessing'], 'maxlen' | 'padding' | 'truncating' | 'numWords'>;
  /** The Keras release whose archive layout this is. */
  kerasVersion: string;
}

/**
 * Writes the model directory `model` as a Keras 3 archive `out` (ending `.keras`), its tokenizer beside it and,
 * unless they are the binary negative and positive, its labels ({@link labelsBeside}), each atomically. A binary
 * model's export is what it was before rnn had labels; it removes a labels file an earlier export left beside
 * `out`, which would name another model's classes.
 */
export async function exportKeras(run: Runtime, o: { model: string; out: string }): Promise<KerasExport> {
  const m = await loadModelDir(run, o.model, 'stock');
  try {
    const topology = topologyOf(m.model, m.metadata.cell);
    const h = m.metadata.hyperParameters;
    const labels = labelsOf(m.metadata);
    const classes = classesOf(m.model);
    if (!topology || classes === undefined) {
      throw new UserError(
        'KERAS_UNSUPPORTED',
        `${m.dir} is not a model Keras export covers`,
        'Export a model rnn trained (Embedding → recurrent layer → Dense)',
      );
    }
    const spec: KerasModelSpec = {
      cell: m.metadata.cell,
      vocabSize: h.vocabSize,
      embeddingDim: h.embeddingDim,
      maxlen: m.metadata.preprocessing.maxlen,
      units: h.units,
      ...topology,
      ...(classes !== BINARY_CLASSES && { classes }),
    };
    const slots = weightSlots(spec);
    const weights = m.model.getWeights();
    const mismatch =
      labels.names.length !== classes ||
      weights.length !== slots.length ||
      weights.some((w, i) => w.shape.join() !== slots[i]!.shape.join());
    if (mismatch) {
      throw new UserError(
        'MODEL_METADATA_MISMATCH',
        `${m.dir}'s weights do not match its metadata.json`,
        `Retrain with \`rnn train --out ${o.model}\``,
      );
    }
    const h5 = await writeWeightsH5(
      slots.map((s, i) => ({ ...s, values: weights[i]!.dataSync() as Float32Array })),
      h5Groups(spec),
    );
    const file = path.resolve(o.out);
    const metadata = { keras_version: KERAS_VERSION, date_saved: kerasDate(new Date()) };
    const enc = (v: unknown) => new TextEncoder().encode(JSON.stringify(v));
    const bytes = await writeArchive(file, {
      [ENTRIES.metadata]: enc(metadata),
      [ENTRIES.config]: enc(kerasConfig(spec)),
      [ENTRIES.weights]: h5,
    } as Parameters<typeof writeArchive>[1]);
    const tokenizer = tokenizerBeside(file);
    await writeFileAtomic(tokenizer, tokenizerFile(m.tokenizer).text);
    const labelsFile = labelsBeside(file);
    const binary = isBinaryLabels(labels);
    if (binary) await fsp.rm(labelsFile, { force: true });
    else await writeJsonAtomic(labelsFile, { names: labels.names, numeric: labels.numeric });
    const p = m.metadata.preprocessing;
    return {
      file,
      bytes,
      tokenizer,
      ...(!binary && { labels: { file: labelsFile, names: labels.names, numeric: labels.numeric } }),
      spec,
      preprocessing: { maxlen: p.maxlen, padding: p.padding, truncating: p.truncating, numWords: p.numWords },
      kerasVersion: KERAS_VERSION,
    };
  } finally {
    m.model.dispose();
  }
}

/** Keras's `date_saved`: `2026-11-30@01:09:04` (local time, as `datetime.now().strftime("%Y-%m-%d@%H:%M:%S")`). */
function kerasDate(d: Date): string {
  const p = (n: number) => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}@${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

/** Options of {@link importKeras}. */
export interface KerasImportOptions {
  /** The `.keras` archive. */
  file: string;
  /** Keras's `tokenizer.to_json()` for the texts the model was trained on. */
  tokenizer: string;
  /**
   * The labels in the order of the model's outputs (`--labels`). Without them: the labels file `rnn export
   * --keras` wrote ({@link labelsBeside} the archive, or `labelsFile`) when there is one, else the binary
   * negative and positive for a Dense(1, sigmoid) model; a Dense(k, softmax) model needs one or the other.
   */
  labels?: readonly string[];
  /** Where to look for the labels file (default {@link labelsBeside} `file`). */
  labelsFile?: string;
  /** The model directory to write. */
  out: string;
  /** Ids per review; required when the Keras model takes any length, else must equal its input length. */
  maxlen?: number;
  /** Where `pad_sequences` put the padding in Keras (its default `pre`). */
  padding: PadSide;
  /** Which end `pad_sequences` cut long reviews at in Keras (its default `pre`). */
  truncating: PadSide;
  /** Versions recorded in metadata.json (the CLI's). */
  versions: ModelMetadata['versions'];
  /** Bounds on the archive (default {@link ARCHIVE_LIMITS}). */
  limits?: ArchiveLimits;
}

/** What {@link importKeras} wrote. */
export interface KerasImport {
  /** The model directory (absolute). */
  dir: string;
  spec: KerasModelSpec & { maxlen: number };
  params: number;
  metadata: ModelMetadata;
  /** Where the labels (in `metadata.labels`) came from: `--labels`, the labels file, or null for a binary model's default negative and positive. */
  labelsFrom: string | null;
}

/**
 * Reads a Keras 3 `.keras` archive of a shape rnn computes and its tokenizer into the model directory `out`
 * (written atomically: nothing is written unless every check passes).
 */
export async function importKeras(run: Runtime, o: KerasImportOptions): Promise<KerasImport> {
  const { spec, values, origin } = await readKerasModel(path.resolve(o.file), o);
  const labels = await importLabels(path.resolve(o.file), spec.classes ?? BINARY_CLASSES, o);
  const tokenizer = await readTokenizer(o.tokenizer, spec.vocabSize);
  const { tf } = run;
  const options = resolveTrainOptions({
    ...spec,
    seed: 0,
    padding: o.padding,
    truncating: o.truncating,
    oovToken: tokenizer.options.oovToken,
  });
  const model = buildModel(tf, { ...options, layers: 'stock' }, tfjsKernels('an imported model is saved, not run'));
  try {
    const shapes = model.getWeights().map((w) => w.shape);
    const tensors = values.map((v, i) => tf.tensor(v, shapes[i]));
    model.setWeights(tensors);
    tensors.forEach((t) => t.dispose());
    const s = summarize(model);
    const metadata = await saveModelDir(tf, o.out, model, tokenizer, {
      formatVersion: METADATA_FORMAT_VERSION,
      createdAt: new Date().toISOString(),
      cell: spec.cell,
      labels: labels.set,
      hyperParameters: options,
      preprocessing: preprocessingOf(options, tokenizer.options.numWords!),
      imported: origin,
      params: { total: s.totalParams, trainable: s.trainableParams },
      history: [],
      timings: { tokenizeSeconds: 0, trainSeconds: 0, totalSeconds: 0, secondsPerEpoch: 0 },
      samplesPerSec: 0,
      backend: { name: 'keras' },
      versions: o.versions,
    });
    return { dir: path.resolve(o.out), spec, params: s.totalParams, metadata, labelsFrom: labels.from };
  } finally {
    model.dispose();
  }
}

/** The model in a `.keras` archive: its shape (maxlen from the archive or `o.maxlen`), weights in tfjs order, and where it came from. */
async function readKerasModel(
  file: string,
  o: Pick<KerasImportOptions, 'maxlen' | 'limits'>,
): Promise<{ spec: KerasModelSpec & { maxlen: number }; values: Float32Array[]; origin: NonNullable<ModelMetadata['imported']> }> {
  const { files, sha256 } = await readArchive(file, o.limits);
  const json = (name: string, bytes: Uint8Array): unknown => {
    try {
      return JSON.parse(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
    } catch (e) {
      throw new UserError(
        'KERAS_ARCHIVE',
        `${file} has a ${name} that is not JSON (${(e as Error).message})`,
        'Save it again with `model.save("model.keras")` in Keras 3',
      );
    }
  };
  const kerasMeta = json(ENTRIES.metadata, files[ENTRIES.metadata]) as { keras_version?: unknown; date_saved?: unknown };
  let read: KerasModelSpec;
  try {
    read = readKerasConfig(json(ENTRIES.config, files[ENTRIES.config]));
  } catch (e) {
    if (e instanceof UserError) throw new UserError(e.code, `${file}: ${e.message}`, e.fix);
    throw e;
  }
  const maxlen = o.maxlen ?? read.maxlen;
  if (maxlen === null) {
    throw new UserError(
      'OPTION_REQUIRED',
      `${file} takes reviews of any length`,
      'Pass --maxlen N, the length you padded reviews to with pad_sequences in Keras',
    );
  }
  if (read.maxlen !== null && o.maxlen !== undefined && o.maxlen !== read.maxlen) {
    throw new UserError(
      'KERAS_MAXLEN_MISMATCH',
      `--maxlen ${o.maxlen} differs from the ${read.maxlen} ids ${file} takes`,
      `Leave --maxlen out, or pass --maxlen ${read.maxlen}`,
    );
  }
  const spec = { ...read, maxlen };
  const values = await readWeightsH5(files[ENTRIES.weights], weightSlots(spec), `${file}'s ${ENTRIES.weights}`);
  const origin = {
    from: 'keras' as const,
    file,
    sha256,
    kerasVersion: typeof kerasMeta.keras_version === 'string' ? kerasMeta.keras_version : null,
    savedAt: typeof kerasMeta.date_saved === 'string' ? kerasMeta.date_saved : null,
  };
  return { spec, values, origin };
}

/**
 * The Keras tokenizer JSON at `file`, checked against the embedding: every id it yields must be below
 * `vocabSize`. A tokenizer that keeps every word (num_words None) and fits is given num_words = vocabSize,
 * which yields the same ids, so that rnn's model directory records the bound.
 */
async function readTokenizer(file: string, vocabSize: number): Promise<Tokenizer> {
  const fix = 'Pass --tokenizer with the file `tokenizer.to_json()` wrote for the texts the model was trained on';
  const json = await readJsonFile<{ config?: { num_words?: unknown } }>(file, fix, {
    missing: 'KERAS_TOKENIZER_MISSING',
    invalid: 'MODEL_TOKENIZER_INVALID',
  });
  const parse = (j: unknown): Tokenizer => Tokenizer.fromJSON(j, { file, fix });
  const tokenizer = parse(json);
  const numWords = tokenizer.options.numWords;
  if (numWords === null ? tokenizer.wordIndex.size + 1 > vocabSize : numWords > vocabSize) {
    throw new UserError(
      'MODEL_TOKENIZER_MISMATCH',
      `${file} keeps ${numWords ?? `all ${tokenizer.wordIndex.size}`} words but the model's embedding takes ${vocabSize} ids`,
      `Use the tokenizer the model was trained with (Tokenizer(num_words=${vocabSize}) in Keras)`,
    );
  }
  return numWords === null ? parse({ ...json, config: { ...json.config, num_words: vocabSize } }) : tokenizer;
}

/** The head's classes as a user reads them: `Dense(1, sigmoid), two labels` or `Dense(3, softmax), 3 labels`. */
function headOf(classes: number): string {
  return classes === BINARY_CLASSES ? 'Dense(1, sigmoid), two labels' : `Dense(${classes}, softmax), ${classes} labels`;
}

/**
 * The imported model's labels and where they came from: `--labels`, else the labels file beside the archive,
 * else (a binary model only) negative and positive. As many as the model's classes, or a one-line error.
 */
async function importLabels(
  file: string,
  classes: number,
  o: Pick<KerasImportOptions, 'labels' | 'labelsFile'>,
): Promise<{ set: LabelSet; from: string | null }> {
  const sidecar = path.resolve(o.labelsFile ?? labelsBeside(file));
  const example = classes === 3 ? 'negative,neutral,positive' : 'a,b,c,…';
  let found: { set: LabelSet; from: string };
  if (o.labels) found = { set: labelSetOf([], o.labels), from: '--labels' };
  else if (await exists(sidecar)) found = { set: await readLabelsFile(sidecar), from: sidecar };
  else if (classes === BINARY_CLASSES) return { set: BINARY_LABELS, from: null };
  else {
    throw new UserError(
      'KERAS_LABELS_MISSING',
      `${file} has ${classes} classes (${headOf(classes)}) but nothing names them (looked for ${sidecar})`,
      `Pass --labels with their ${classes} names in the order of the model's outputs (e.g. --labels ${example}), or put the ${path.basename(sidecar)} that \`rnn export --keras\` wrote beside the archive`,
    );
  }
  const n = found.set.names.length;
  if (n !== classes) {
    throw new UserError(
      'KERAS_LABELS_MISMATCH',
      `${found.from} names ${n} labels (${found.set.names.join(', ')}) but ${file} has ${classes} classes (${headOf(classes)})`,
      o.labels
        ? `Pass --labels with ${classes} names, in the order of the model's outputs`
        : `Pass --labels with ${classes} names in the order of the model's outputs, or export the model again with \`rnn export --keras\``,
    );
  }
  return found;
}

/** A labels file `rnn export --keras` writes: `{ "names": [two or more distinct names], "numeric": boolean }`. */
async function readLabelsFile(file: string): Promise<LabelSet> {
  const fix = 'Write it as {"names": ["negative", "neutral", "positive"], "numeric": false}, or pass --labels instead';
  const json = await readJsonFile<unknown>(file, fix, { missing: 'KERAS_LABELS_MISSING', invalid: 'KERAS_LABELS_INVALID' });
  const bad = (why: string) => new UserError('KERAS_LABELS_INVALID', `${file} is not a labels file: ${why}`, fix);
  if (typeof json !== 'object' || json === null || Array.isArray(json)) throw bad('not a JSON object');
  const { names, numeric } = json as { names?: unknown; numeric?: unknown };
  if (!Array.isArray(names) || !names.every((n): n is string => typeof n === 'string')) throw bad('"names" is not a list of strings');
  const problem = labelNamesProblem(names);
  if (problem) throw bad(`"names": ${problem}`);
  if (typeof numeric !== 'boolean') throw bad('"numeric" is not true or false');
  if (numeric && !names.every(isNumericLabel)) throw bad('"numeric" is true but a name is not a number');
  const set = labelSetOf([], names);
  return { names: set.names, numeric };
}
