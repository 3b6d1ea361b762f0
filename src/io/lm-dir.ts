/**
 * The language model directory `rnn pretrain` writes: `model.json` + `weights.bin` (tfjs layers format:
 * Embedding → recurrent layer returning sequences → Dense(vocabulary)), `tokenizer.json` (Keras's), `texts.fp`
 * (the fingerprints of every text it read, for `rnn eval`'s leak guard) and `metadata.json` with
 * `kind: "language-model"`. Written atomically like a classifier's directory; read back by `rnn train --init`,
 * `rnn info` and `rnn list`.
 */
import { promises as fsp } from 'node:fs';
import * as path from 'node:path';
import { createHash } from 'node:crypto';
import type { LayersModel } from '@tensorflow/tfjs';
import type { TF } from '../backend/index.js';
import { UserError } from '../errors.js';
import { Tokenizer } from '../text/tokenizer.js';
import { fingerprintBytes, fingerprintsOf, type LoadedTexts } from '../data/texts.js';
import type { DataFlags } from '../data/index.js';
import { summarize } from '../models/index.js';
import { checkpointDirFor, saveCheckpoint } from './checkpoint.js';
import { readBoundedFile, recoverReplacedDir, writeDirStaged, writingTo } from '../util/fs.js';
import type { LmEpochLog, PretrainOptions, PretrainResult } from '../train/pretrain-options.js';
import { METADATA_FORMAT_VERSION, readLayersModel, tokenizerFile, writeModelFiles } from './model-dir.js';
import { parseJson, readText } from './read.js';
import { INIT_FINGERPRINTS, UNLABELED_FINGERPRINTS, type LanguageModelTexts } from './lm-record.js';

export { INIT_FINGERPRINTS, UNLABELED_FINGERPRINTS, type InitRecord, type LanguageModelTexts } from './lm-record.js';

/** The fingerprints of the texts a language model read (8 bytes each, sorted). */
export const TEXT_FINGERPRINTS = 'texts.fp';

/** A language model's metadata.json. */
export interface LanguageModelMetadata {
  formatVersion: number;
  kind: 'language-model';
  createdAt: string;
  cell: PretrainOptions['cell'];
  options: PretrainOptions;
  preprocessing: {
    tokenizer: 'keras.preprocessing.text.Tokenizer';
    numWords: number;
    oovToken: string | null;
    htmlLineBreaks: 'replaced by spaces';
    tokenizerSha256: string;
  };
  texts: LanguageModelTexts;
  /** The output layer and its loss, in words. */
  output: string;
  params: { total: number; trainable: number };
  history: LmEpochLog[];
  weights: { epoch: number; bestEpoch: number };
  /** Held-out perplexity of the unigram model of the training tokens: the bar the model beats. */
  unigramPerplexity: number;
  /** SHA-256 of weights.bin, which `rnn train --init` records. */
  weightsSha256: string;
  timings: { tokenizeSeconds: number; trainSeconds: number; totalSeconds: number; secondsPerEpoch: number };
  tokensPerSec: number;
  backend: { name: string; tensorflow?: string; recurrentKernels: string };
  versions: { rnn: string; tfjs: string; node: string };
}

function sha256(data: string | Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

export type UnsavedLanguageModelMetadata = Omit<LanguageModelMetadata, 'preprocessing' | 'weightsSha256' | 'texts'> & {
  preprocessing: Omit<LanguageModelMetadata['preprocessing'], 'tokenizerSha256'>;
  texts: Omit<LanguageModelTexts, 'fingerprintsSha256'>;
};

/** Writes the language model directory atomically; returns its metadata with the hashes filled in. */
export async function saveLanguageModelDir(
  tf: TF,
  dir: string,
  model: LayersModel,
  tokenizer: Tokenizer,
  metadata: UnsavedLanguageModelMetadata,
  fingerprints: BigUint64Array,
): Promise<LanguageModelMetadata> {
  const target = path.resolve(dir);
  return writingTo(
    target,
    () =>
      writeDirStaged(target, async (staged) => {
        await writeModelFiles(tf, staged, model);
        const tok = tokenizerFile(tokenizer);
        const fp = fingerprintBytes(fingerprints);
        const full: LanguageModelMetadata = {
          ...metadata,
          preprocessing: { ...metadata.preprocessing, tokenizerSha256: tok.sha256 },
          texts: { ...metadata.texts, fingerprintsSha256: sha256(fp) },
          weightsSha256: sha256(await fsp.readFile(path.join(staged, 'weights.bin'))),
        };
        await fsp.writeFile(path.join(staged, 'tokenizer.json'), tok.text);
        await fsp.writeFile(path.join(staged, TEXT_FINGERPRINTS), fp);
        await fsp.writeFile(path.join(staged, 'metadata.json'), JSON.stringify(full, null, 2) + '\n');
        return full;
      }),
    `the model that was in ${target} is unchanged`,
  );
}

/** A language model's metadata.json, checked; a directory that is none is INIT_NOT_LANGUAGE_MODEL. */
export async function readLanguageModelMetadata(dir: string): Promise<LanguageModelMetadata> {
  const abs = path.resolve(dir);
  await recoverReplacedDir(abs);
  const fix = 'Pass --init a directory `rnn pretrain` saved (e.g. models/lm), or pretrain one first';
  const metaFile = path.join(abs, 'metadata.json');
  const text = await readText(metaFile, fix).catch((e: unknown) => {
    if (e instanceof UserError) throw new UserError('INIT_NOT_LANGUAGE_MODEL', `${abs} is not a language model directory (${e.what})`, fix);
    throw e;
  });
  const meta = parseJson<LanguageModelMetadata>(text, metaFile, fix);
  if (meta?.kind !== 'language-model') {
    throw new UserError(
      'INIT_NOT_LANGUAGE_MODEL',
      `${abs} is not a language model (its metadata.json has no "kind": "language-model"; a classifier cannot initialize another)`,
      fix,
    );
  }
  const { LanguageModelMetadataJson, schemaProblem } = await import('./schemas.js');
  const problem = schemaProblem(LanguageModelMetadataJson, meta);
  if (problem || meta.formatVersion !== METADATA_FORMAT_VERSION) {
    throw new UserError(
      'MODEL_METADATA_INVALID',
      `${metaFile} is not an rnn language model's metadata: ${problem ?? 'format version'}`,
      fix,
    );
  }
  return meta;
}

/** A loaded language model directory. */
export interface LanguageModelDir {
  dir: string;
  model: LayersModel;
  tokenizer: Tokenizer;
  metadata: LanguageModelMetadata;
  fingerprints: BigUint64Array;
  /** The bytes of texts.fp (copied beside a classifier trained from it). */
  fingerprintFile: Uint8Array;
}

/** Loads a language model directory, its files checked against its metadata (hashes of weights, tokenizer, fingerprints). */
export async function loadLanguageModelDir(tf: TF, dir: string): Promise<LanguageModelDir> {
  const abs = path.resolve(dir);
  const metadata = await readLanguageModelMetadata(abs);
  const fix = `Pretrain it again with \`rnn pretrain --out ${dir}\``;
  const weights = await readBoundedFile(path.join(abs, 'weights.bin'), 2 ** 30).catch(() => undefined);
  if (!weights || sha256(weights) !== metadata.weightsSha256) {
    throw new UserError(
      'MODEL_METADATA_MISMATCH',
      `${path.join(abs, 'weights.bin')} is missing or not the weights metadata.json records`,
      fix,
    );
  }
  const model = await readLayersModel(tf, abs, fix);
  const tokFile = path.join(abs, 'tokenizer.json');
  const tokText = await readText(tokFile, fix);
  if (sha256(tokText) !== metadata.preprocessing.tokenizerSha256) {
    model.dispose();
    throw new UserError('MODEL_TOKENIZER_MISMATCH', `${tokFile} is not the tokenizer this language model was trained with`, fix);
  }
  const tokenizer = Tokenizer.fromJSON(parseJson(tokText, tokFile, fix, 'MODEL_TOKENIZER_INVALID'), { file: tokFile, fix });
  const fingerprintFile = await fsp.readFile(path.join(abs, TEXT_FINGERPRINTS)).catch(() => undefined);
  if (!fingerprintFile || sha256(fingerprintFile) !== metadata.texts.fingerprintsSha256) {
    model.dispose();
    throw new UserError(
      'MODEL_METADATA_MISMATCH',
      `${path.join(abs, TEXT_FINGERPRINTS)} is missing or not the one metadata.json records`,
      fix,
    );
  }
  return { dir: abs, model, tokenizer, metadata, fingerprints: fingerprintsOf(fingerprintFile), fingerprintFile };
}

export async function readInitFingerprints(modelDir: string): Promise<BigUint64Array | undefined> {
  const bytes = await fsp.readFile(path.join(modelDir, INIT_FINGERPRINTS)).catch(() => undefined);
  return bytes && fingerprintsOf(bytes);
}

/** The fingerprints of a self-trained classifier's unlabeled texts ({@link UNLABELED_FINGERPRINTS}), or undefined when missing or cut short. */
export async function readUnlabeledFingerprints(modelDir: string): Promise<BigUint64Array | undefined> {
  const bytes = await fsp.readFile(path.join(modelDir, UNLABELED_FINGERPRINTS)).catch(() => undefined);
  return bytes && bytes.byteLength % 8 === 0 ? fingerprintsOf(bytes) : undefined;
}

/** Saves a pretraining run: the language model directory when it finished, or its checkpoint beside `dir` when interrupted. */
export async function savePretrainRun(
  tf: TF,
  result: PretrainResult,
  dir: string,
  env: { backend: LanguageModelMetadata['backend']; versions: LanguageModelMetadata['versions'] } & {
    texts: LoadedTexts;
    dataFlags: DataFlags & { allowTestText?: boolean };
  },
  resumedFrom?: string,
): Promise<{ metadata?: LanguageModelMetadata; checkpoint?: string }> {
  if (result.interrupted) {
    const ckptDir = checkpointDirFor(dir);
    try {
      await saveCheckpoint(
        ckptDir,
        { kind: 'pretrain', options: result.options, out: path.resolve(dir), data: { flags: env.dataFlags, source: env.texts.source } },
        result.interrupted,
      );
    } finally {
      result.model.dispose();
    }
    return { checkpoint: ckptDir };
  }
  const o = result.options;
  const s = summarize(result.model);
  try {
    const metadata = await saveLanguageModelDir(
      tf,
      dir,
      result.model,
      result.tokenizer,
      {
        formatVersion: METADATA_FORMAT_VERSION,
        kind: 'language-model',
        createdAt: new Date().toISOString(),
        cell: o.cell,
        options: o,
        preprocessing: {
          tokenizer: 'keras.preprocessing.text.Tokenizer',
          numWords: o.vocabSize,
          oovToken: o.oovToken,
          htmlLineBreaks: 'replaced by spaces',
        },
        texts: {
          ...env.texts.source,
          texts: result.counts.trainTexts + result.counts.heldOutTexts,
          available: env.texts.texts.length,
          trainTexts: result.counts.trainTexts,
          heldOutTexts: result.counts.heldOutTexts,
          trainTokens: result.counts.trainTokens,
          heldOutTokens: result.counts.heldOutTokens,
        },
        output:
          o.softmax === 'sampled'
            ? `Dense(${o.vocabSize}) trained with a sampled softmax (${o.samples} log-uniform candidates a step); perplexity by the full softmax`
            : `Dense(${o.vocabSize}) trained with the full softmax`,
        params: { total: s.totalParams, trainable: s.trainableParams },
        history: result.history,
        weights: { epoch: result.weightsEpoch, bestEpoch: result.bestEpoch },
        unigramPerplexity: result.unigramPerplexity,
        timings: {
          tokenizeSeconds: result.seconds.tokenize,
          trainSeconds: result.seconds.train,
          totalSeconds: result.seconds.total,
          secondsPerEpoch: result.history.reduce((a, e) => a + e.seconds, 0) / Math.max(1, result.history.length),
        },
        tokensPerSec: result.tokensPerSec,
        backend: {
          name: env.backend.name,
          tensorflow: env.backend.tensorflow,
          recurrentKernels: o.layers === 'stock' ? 'stock tfjs-layers' : env.backend.recurrentKernels,
        },
        versions: env.versions,
      },
      result.fingerprints,
    );
    if (resumedFrom) await fsp.rm(resumedFrom, { recursive: true, force: true });
    return { metadata };
  } finally {
    result.model.dispose();
  }
}
