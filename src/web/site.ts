/**
 * `rnn export --web`: a saved model as a self-contained static site — index.html, the page's script (the
 * browser entry src/web/page.ts bundled with esbuild: the same tokenizer, padding and occlusion code as
 * the CLI) and its worker (src/web/worker.ts, which runs the model), the tfjs browser build of the installed
 * @tensorflow/tfjs and its wasm backend (the .wasm binaries of @tensorflow/tfjs-backend-wasm), and the model
 * files. Nothing on the page is fetched from another origin (a Content-Security-Policy says so to the browser
 * too); `_headers` tells static hosts that read it how to make the page cross-origin isolated (wasm threads).
 *
 * The site is written to a temporary sibling and renamed into place, so a failed export leaves nothing
 * behind; an existing directory is replaced only when it is an earlier export.
 */
import { promises as fsp, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { LayersModel } from '@tensorflow/tfjs';
import type { Runtime } from '../backend/index.js';
import { UserError } from '../errors.js';
import { labelsOf, loadModelDir, tokenizerFile } from '../io/model-dir.js';
import { readModelInfo, type EvalRecord, type ModelInfo } from '../io/catalog.js';
import { describeRecipe } from '../train/control.js';
import { exists, recoverReplacedDir, writeDirStaged, writingTo } from '../util/fs.js';
import { quantizeWeights, type Quantization, type WeightSpec } from './quantize.js';
import { pageHtml, type BinaryTest, type ClassesTest, type ModelCard } from './html.js';

/** What `rnn export --web` is told. */
export interface WebExportOptions {
  /** The model directory to export. */
  model: string;
  /** The site's directory (created; replaced when it is an earlier export). */
  out: string;
  /** How the weights are stored. */
  quantize: Quantization;
}

/** What was written. */
export interface WebExport {
  dir: string;
  quantize: Quantization;
  files: { name: string; bytes: number }[];
  totalBytes: number;
  card: ModelCard;
}

/** The files that mark a directory as an rnn web export (so that re-exporting may replace it). */
const MARKER = 'rnn-web.json';
/** The model files, under `model/` in the site. */
export const SITE_MODEL_DIR = 'model';

const require = createRequire(import.meta.url);

/**
 * The tfjs browser build of the installed @tensorflow/tfjs (its own package, not a CDN): the ES2017 one,
 * which, unlike the ES5 tf.min.js with its polyfills, evaluates no strings (so the page's CSP can forbid it).
 */
function tfjsBrowserBuild(): { file: string; version: string } {
  const pkg = require.resolve('@tensorflow/tfjs/package.json');
  const version = (JSON.parse(readFileSync(pkg, 'utf8')) as { version: string }).version;
  return { file: path.join(path.dirname(pkg), 'dist', 'tf.es2017.min.js'), version };
}

/**
 * The wasm backend of the same tfjs (its own npm package; no download): its browser build and its three
 * binaries (plain, SIMD, SIMD with threads), which the worker loads from beside itself.
 */
function tfjsWasmBuild(): { script: string; binaries: string[] } {
  const dist = path.join(path.dirname(require.resolve('@tensorflow/tfjs-backend-wasm/package.json')), 'dist');
  const binaries = ['tfjs-backend-wasm.wasm', 'tfjs-backend-wasm-simd.wasm', 'tfjs-backend-wasm-threaded-simd.wasm'];
  return { script: path.join(dist, 'tf-backend-wasm.es2017.min.js'), binaries: binaries.map((b) => path.join(dist, b)) };
}

/**
 * Headers for static hosts that read a `_headers` file (the page needs none of them; with them the wasm
 * backend may use threads, which need a cross-origin isolated page). `rnn serve --web` sends the same.
 */
const HEADERS_FILE = `/*
  Cross-Origin-Opener-Policy: same-origin
  Cross-Origin-Embedder-Policy: require-corp
`;

/** Bundles a browser entry (`page` or `worker`, compiled beside this file) into one script. */
async function bundlePage(name: 'page' | 'worker'): Promise<string> {
  const entry = path.join(path.dirname(fileURLToPath(import.meta.url)), `${name}.js`);
  const { build } = await import('esbuild'); // loaded on first use: rnn's start-up stays light
  const r = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2020',
    minify: true,
    write: false,
    logLevel: 'silent',
    legalComments: 'none',
  });
  return r.outputFiles[0]!.text;
}

/**
 * The test figures of the last `rnn eval` the card shows: a binary model's accuracy, F1 and ROC-AUC; a k-class
 * model's accuracy, macro- and weighted-F1, per-label figures (and the errors of numeric labels) when eval.json
 * has them. Anything else (an older or unreadable record): none.
 */
function testOf(ev: EvalRecord | undefined, classes: boolean): BinaryTest | ClassesTest | null {
  if (!ev) return null;
  const m = ev.metrics as unknown as Record<string, unknown>;
  const num = (k: string): number | undefined => (typeof m[k] === 'number' ? m[k] : undefined);
  const common = { reviews: ev.data.reviews, evaluatedAt: ev.evaluatedAt };
  if (!classes) {
    const [accuracy, f1, rocAuc] = [num('accuracy'), num('f1'), num('rocAuc')];
    return accuracy !== undefined && f1 !== undefined && rocAuc !== undefined ? { accuracy, f1, rocAuc, ...common } : null;
  }
  const [accuracy, macroF1, weightedF1, mae, within] = ['accuracy', 'macroF1', 'weightedF1', 'meanAbsoluteError', 'withinOneStep'].map(num);
  if (accuracy === undefined || macroF1 === undefined || weightedF1 === undefined || !Array.isArray(m.perClass)) return null;
  const perClass = (m.perClass as ClassesTest['perClass']).map(({ label, precision, recall, f1, support }) => ({
    label: String(label),
    precision,
    recall,
    f1,
    support,
  }));
  return {
    accuracy,
    macroF1,
    weightedF1,
    perClass,
    ...(mae !== undefined && { meanAbsoluteError: mae }),
    ...(within !== undefined && { withinOneStep: within }),
    ...common,
  };
}

/** The model card the page shows: what the model is, how it was trained, how it scored. */
function modelCard(info: ModelInfo, head: ModelCard['head'], quantize: Quantization, tfjs: string): ModelCard {
  const md = info.metadata;
  const h = md.hyperParameters;
  const labels = labelsOf(md).names;
  const classes = labels.length > 2;
  return {
    cell: md.cell,
    createdAt: md.createdAt,
    params: md.params.total,
    vocabSize: h.vocabSize,
    maxlen: md.preprocessing.maxlen,
    units: h.units,
    ...(h.bidirectional && { bidirectional: true }),
    ...(h.pooling && h.pooling !== 'last' && { pooling: h.pooling }),
    embeddingDim: h.embeddingDim,
    epochs: md.history.length,
    bestEpoch: md.weights?.epoch ?? md.history.length,
    recipe: describeRecipe(h),
    seed: h.seed,
    data: md.dataset
      ? {
          name: path.basename(md.dataset.url ?? md.dataset.path),
          trainReviews: md.dataset.trainReviews,
          validationReviews: md.dataset.validationReviews,
        }
      : null,
    ...(md.imported && { imported: { file: path.basename(md.imported.file), kerasVersion: md.imported.kerasVersion } }),
    head,
    ...(classes && { labels: [...labels] }),
    test: testOf(info.evaluation, classes),
    quantize,
    tfjs,
  };
}

/** The model's output layer as its model.json describes it: units and activation of the last (Dense) layer. */
function headOf(model: LayersModel): ModelCard['head'] {
  const c = model.layers[model.layers.length - 1]!.getConfig();
  return { units: Number(c.units), activation: String(c.activation) };
}

/** Writes the site; every problem with the model directory is a UserError, and nothing is left behind. */
export async function exportWebSite(run: Runtime, o: WebExportOptions): Promise<WebExport> {
  const out = path.resolve(o.out);
  // Loading checks the whole directory (files, sizes, finite weights, tokenizer hash) the way eval does.
  const m = await loadModelDir(run, o.model);
  const head = headOf(m.model);
  m.model.dispose();
  const info = await readModelInfo(m.dir);
  await recoverReplacedDir(out);
  if (await exists(out)) {
    const st = await fsp.stat(out);
    const isExport = st.isDirectory() && (await exists(path.join(out, MARKER)));
    const empty = st.isDirectory() && (await fsp.readdir(out)).length === 0;
    if (!isExport && !empty) {
      throw new UserError(
        'EXPORT_DIR_NOT_EMPTY',
        `${out} exists and is not an rnn web export`,
        'Pass --web a new or empty directory (an earlier export is replaced)',
      );
    }
  }
  const tfjs = tfjsBrowserBuild();
  const card = modelCard(info, head, o.quantize, tfjs.version);
  return writingTo(out, () => writeSite(m, info, o.quantize, card, tfjs, out), `the export that was in ${out} is unchanged`);
}

/** Writes the site to a staged sibling of `out` and renames it into place ({@link writeDirStaged}). */
async function writeSite(
  m: Awaited<ReturnType<typeof loadModelDir>>,
  info: Awaited<ReturnType<typeof readModelInfo>>,
  quantize: Quantization,
  card: ModelCard,
  tfjs: { file: string },
  out: string,
): Promise<WebExport> {
  const o = { quantize };
  return writeDirStaged(out, async (staged) => {
    await fsp.mkdir(path.join(staged, SITE_MODEL_DIR));
    const modelJson = JSON.parse(await fsp.readFile(path.join(m.dir, 'model.json'), 'utf8')) as {
      weightsManifest: { paths: string[]; weights: WeightSpec[] }[];
    } & Record<string, unknown>;
    const weights = await fsp.readFile(path.join(m.dir, 'weights.bin'));
    const specs = modelJson.weightsManifest.flatMap((g) => g.weights);
    const stored =
      o.quantize === 'none'
        ? { specs, data: weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer }
        : quantizeWeights(
            specs,
            weights.buffer.slice(weights.byteOffset, weights.byteOffset + weights.byteLength) as ArrayBuffer,
            o.quantize,
          );
    const siteModel = path.join(staged, SITE_MODEL_DIR);
    await fsp.writeFile(
      path.join(siteModel, 'model.json'),
      JSON.stringify({ ...modelJson, weightsManifest: [{ paths: ['weights.bin'], weights: stored.specs }] }),
    );
    await fsp.writeFile(path.join(siteModel, 'weights.bin'), new Uint8Array(stored.data));
    // Only the words that reach the model (the same ids for every text; 8.3 MB → ~0.2 MB for IMDB's
    // vocabulary), so the hash in metadata.json is this file's: the site's model/ is itself a model directory.
    const tok = tokenizerFile(m.tokenizer.forInference());
    await fsp.writeFile(path.join(siteModel, 'tokenizer.json'), tok.text);
    const md = info.metadata;
    const metadata = {
      ...md,
      preprocessing: { ...md.preprocessing, tokenizerSha256: tok.sha256 },
      // The dataset's path on this machine is not published: its file name is enough.
      dataset: md.dataset && { ...md.dataset, path: path.basename(md.dataset.path) },
      imported: md.imported && { ...md.imported, file: path.basename(md.imported.file) },
      webExport: { from: path.basename(m.dir), quantize: o.quantize, originalTokenizerSha256: md.preprocessing.tokenizerSha256 },
    };
    await fsp.writeFile(path.join(siteModel, 'metadata.json'), JSON.stringify(metadata, null, 2) + '\n');
    await fsp.writeFile(path.join(staged, 'card.json'), JSON.stringify(card, null, 2) + '\n');
    await fsp.copyFile(tfjs.file, path.join(staged, 'tf.min.js'));
    await fsp.writeFile(path.join(staged, 'app.js'), await bundlePage('page'));
    await fsp.writeFile(path.join(staged, 'worker.js'), await bundlePage('worker'));
    const wasm = tfjsWasmBuild();
    await fsp.copyFile(wasm.script, path.join(staged, 'tf-backend-wasm.min.js'));
    for (const b of wasm.binaries) await fsp.copyFile(b, path.join(staged, path.basename(b)));
    await fsp.writeFile(path.join(staged, '_headers'), HEADERS_FILE);
    await fsp.writeFile(path.join(staged, 'index.html'), pageHtml(card));
    await fsp.writeFile(path.join(staged, MARKER), JSON.stringify({ exportedFrom: path.basename(m.dir), quantize: o.quantize }) + '\n');
    const files = await listFiles(staged);
    return { dir: out, quantize: o.quantize, files, totalBytes: files.reduce((s, f) => s + f.bytes, 0), card };
  });
}

/** Every file under `dir` with its size, paths relative to `dir` with `/`, sorted. */
async function listFiles(dir: string, prefix = ''): Promise<{ name: string; bytes: number }[]> {
  const out: { name: string; bytes: number }[] = [];
  for (const e of await fsp.readdir(dir, { withFileTypes: true })) {
    const rel = prefix ? `${prefix}/${e.name}` : e.name;
    if (e.isDirectory()) out.push(...(await listFiles(path.join(dir, e.name), rel)));
    else out.push({ name: rel, bytes: (await fsp.stat(path.join(dir, e.name))).size });
  }
  return out.sort((a, b) => a.name.localeCompare(b.name));
}
