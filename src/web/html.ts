/**
 * The exported page's HTML: a labelled text box, the result region the script fills in, and the model card
 * (written here, at export time, so that it reads without JavaScript). Styles are inline; no fonts, images
 * or scripts from other origins, and a Content-Security-Policy that forbids them.
 */
import { isCell, LAYER_CLASS, POOLING_LAYER } from '../cells.js';

/** What the page says about the model (card.json, and the card in index.html). */
export interface ModelCard {
  cell: string;
  createdAt: string;
  params: number;
  vocabSize: number;
  maxlen: number;
  units: number;
  /** Bidirectional recurrent layer (absent: one direction). */
  bidirectional?: boolean;
  /** What the dense layer reads (absent: the last state). */
  pooling?: string;
  embeddingDim: number;
  epochs: number;
  /** The epoch whose weights were saved. */
  bestEpoch: number;
  recipe: string;
  seed: number;
  /** The training data: its file name, and the reviews trained and validated on (null: imported, not recorded). */
  data: { name: string; trainReviews: number; validationReviews: number } | null;
  /** A model imported from Keras (`rnn import`): the archive's file name and the Keras that saved it. */
  imported?: { file: string; kerasVersion: string | null };
  /** The output layer as model.json has it (Dense(1, sigmoid) for two labels, Dense(k, softmax) for k ≥ 3). */
  head: { units: number; activation: string };
  /** k ≥ 3 classes only (absent for a binary model): the labels, in class order. */
  labels?: string[];
  /** The last `rnn eval` (null: never evaluated, or its record is not one this page reads). */
  test: BinaryTest | ClassesTest | null;
  quantize: string;
  /** The tfjs version of the bundled browser build. */
  tfjs: string;
}

/** A binary model's last `rnn eval`. */
export interface BinaryTest {
  accuracy: number;
  f1: number;
  rocAuc: number;
  reviews: number;
  evaluatedAt: string;
}

/** A k-class model's last `rnn eval` (eval.json's k-class metrics, src/eval/classes.ts). */
export interface ClassesTest {
  accuracy: number;
  macroF1: number;
  weightedF1: number;
  /** Per label, in label order. */
  perClass: { label: string; precision: number; recall: number; f1: number; support: number }[];
  /** Numeric labels only. */
  meanAbsoluteError?: number;
  /** Numeric labels only. */
  withinOneStep?: number;
  reviews: number;
  evaluatedAt: string;
}

/** The cell as Keras names it (escaped: metadata.json is data, and the page must not run it). */
const cellName = (cell: string): string => (isCell(cell) ? LAYER_CLASS[cell] : escapeHtml(cell));

export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

const pct = (v: number): string => `${(v * 100).toFixed(2)}%`;
const int = (v: number): string => v.toLocaleString('en-US');

/** `GRU(128)`, `Bidirectional(GRU(128)) → GlobalMaxPooling1D`, as Keras names the layers. */
function recurrentLayers(c: ModelCard): string {
  const cell = `${cellName(c.cell)}(${c.units})`;
  const rnn = c.bidirectional ? `Bidirectional(${cell})` : cell;
  const layer =
    c.pooling === 'max' || c.pooling === 'mean' ? POOLING_LAYER[c.pooling] : c.pooling && c.pooling !== 'last' ? escapeHtml(c.pooling) : '';
  const pooling = layer ? ` → ${layer}` : '';
  return rnn + pooling;
}

/** Whether a card is a k-class model's (k ≥ 3 labels). */
export const isClasses = (c: Pick<ModelCard, 'labels'>): c is { labels: string[] } => (c.labels?.length ?? 0) > 2;

/** The test row's figures: a binary model's as they always were; a k-class model's accuracy, macro- and weighted-F1. */
function testFigures(t: BinaryTest | ClassesTest): string {
  const on = ` on ${int(t.reviews)} test reviews`;
  if (!('perClass' in t)) return `${pct(t.accuracy)} (F1 ${t.f1.toFixed(4)}, ROC-AUC ${t.rocAuc.toFixed(4)})${on}`;
  const numeric =
    t.meanAbsoluteError !== undefined
      ? `; mean absolute error ${t.meanAbsoluteError.toFixed(3)}${t.withinOneStep !== undefined ? `, ${pct(t.withinOneStep)} within one step` : ''}`
      : '';
  return `${pct(t.accuracy)} (macro-F1 ${t.macroF1.toFixed(4)}, weighted-F1 ${t.weightedF1.toFixed(4)})${on}${numeric}`;
}

/** Each label's precision, recall, F1 and support, as a table. */
function perClassTable(t: ClassesTest): string {
  const rows = t.perClass
    .map(
      (r) =>
        `<tr><th scope="row">${escapeHtml(r.label)}</th><td>${r.precision.toFixed(4)}</td><td>${r.recall.toFixed(4)}</td><td>${r.f1.toFixed(4)}</td><td>${int(r.support)}</td></tr>`,
    )
    .join('');
  return `<table id="per-class"><thead><tr><th scope="col">label</th><th scope="col">precision</th><th scope="col">recall</th><th scope="col">F1</th><th scope="col">reviews</th></tr></thead><tbody>${rows}</tbody></table>`;
}

/** The model card as a definition list. */
function cardRows(c: ModelCard): [string, string][] {
  const weights = c.quantize === 'none' ? 'float32' : `${c.quantize} (quantized at export)`;
  const head = `Dense(${c.head.units}, ${escapeHtml(c.head.activation)})`;
  const classes: [string, string][] = isClasses(c)
    ? [['Labels', `${c.labels.map(escapeHtml).join(', ')} (${c.labels.length} classes; the page explains the most probable one)`]]
    : [];
  const perClass: [string, string][] = c.test && 'perClass' in c.test ? [['Per label', perClassTable(c.test)]] : [];
  return [
    ['Model', `Embedding(${int(c.vocabSize)} → ${c.embeddingDim}) → ${recurrentLayers(c)} → ${head}; ${int(c.params)} parameters`],
    ...classes,
    ['Test accuracy', c.test ? testFigures(c.test) : 'not evaluated (run rnn eval before exporting)'],
    ...perClass,
    [
      'Training data',
      c.data
        ? `${escapeHtml(c.data.name)}: ${int(c.data.trainReviews)} reviews, ${int(c.data.validationReviews)} more for validation`
        : 'not recorded',
    ],
    c.imported
      ? [
          'Recipe',
          `trained in Keras${c.imported.kerasVersion ? ` ${escapeHtml(c.imported.kerasVersion)}` : ''}, imported from ${escapeHtml(c.imported.file)}`,
        ]
      : [
          'Recipe',
          `${c.epochs} epoch${c.epochs === 1 ? '' : 's'} (weights of epoch ${c.bestEpoch}), ${escapeHtml(c.recipe)}, seed ${c.seed}`,
        ],
    ['Input', `the last ${c.maxlen} words the model knows (Keras's Tokenizer and pad_sequences)`],
    ['Weights', weights],
    ['Trained', escapeHtml(c.createdAt.slice(0, 10))],
  ];
}

/** The styles of a k-class model's bars and per-label table (a binary model's page has neither). */
const CLASSES_CSS = `  #classes { list-style: none; margin: .5rem 0 0; padding: 0; }
  #classes li { display: grid; grid-template-columns: minmax(5rem, max-content) 1fr 4rem; gap: .75rem; align-items: center; }
  #classes .bar { height: .8rem; background: #e6e9ec; border-radius: 3px; }
  #classes .bar span { display: block; height: 100%; background: #5b6470; border-radius: 3px; }
  #classes li:first-child { font-weight: 700; } #classes li:first-child .bar span { background: #1f6feb; }
  #classes .pct { text-align: right; font-variant-numeric: tabular-nums; }
  #per-class { border-collapse: collapse; font-variant-numeric: tabular-nums; }
  #per-class th, #per-class td { padding: 0 .75rem 0 0; text-align: right; } #per-class th[scope=row], #per-class thead th:first-child { text-align: left; }
`;

/** The page's words: a binary model's as they always were; a k-class model's about its top label. */
function wording(c: ModelCard, cell: string): Record<'title' | 'sub' | 'hint' | 'css' | 'bars' | 'towards' | 'against' | 'method', string> {
  const a = /^[AEIOU]|^LSTM/.test(cell) ? 'An' : 'A';
  if (!isClasses(c)) {
    return {
      title: 'Is this movie review positive?',
      sub: `${a} ${cell} trained with rnn on IMDB reviews.`,
      hint: 'The verdict updates as you type. Each word is marked with how it moved the score: + towards positive, − towards negative.',
      css: '',
      bars: '',
      towards: 'Most positive words',
      against: 'Most negative words',
      method: 'the change in log-odds when it is removed',
    };
  }
  return {
    title: 'Which label fits this review?',
    sub: `${a} ${cell} trained with rnn to tell apart ${c.labels.length} labels: ${c.labels.map(escapeHtml).join(', ')}.`,
    hint: 'The verdict updates as you type. Each word is marked with how it moved the top label: + towards it, − away from it.',
    css: CLASSES_CSS,
    bars: '\n  <ol id="classes" aria-label="Every label\'s probability, the most probable first"></ol>',
    towards: 'Words for the top label',
    against: 'Words against the top label',
    method: "the change in the top label's log-probability when it is removed",
  };
}

export function pageHtml(c: ModelCard): string {
  const cell = cellName(c.cell);
  const rows = cardRows(c)
    .map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`)
    .join('');
  const w = wording(c, cell);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; connect-src 'self'; worker-src 'self' blob:">
<link rel="icon" href="data:,">
<title>Movie review sentiment · ${cell} · rnn</title>
<style>
  :root { color-scheme: light; --pos: #0a6b2d; --neg: #a3141c; --muted: #5b6470; }
  body { font: 16px/1.5 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; margin: 0; background: #f7f7f5; color: #1d2125; }
  main { max-width: 46rem; margin: 0 auto; padding: 1.5rem 1rem 3rem; }
  h1 { font-size: 1.6rem; margin: 0 0 .25rem; }
  h2 { font-size: 1.05rem; margin: 1.5rem 0 .5rem; }
  .sub, #hint, #status { color: var(--muted); }
  label { display: block; font-weight: 600; margin-top: 1rem; }
  textarea { width: 100%; box-sizing: border-box; font: inherit; padding: .6rem; border: 1px solid #9aa3ad; border-radius: 6px; }
  textarea:focus { outline: 3px solid #1f6feb; outline-offset: 1px; }
  #result { margin-top: 1rem; padding: 1rem; background: #fff; border: 1px solid #d8dde2; border-radius: 8px; }
  #verdict { font-size: 1.3rem; font-weight: 700; }
  .positive { color: var(--pos); } .negative { color: var(--neg); }
  #explanation { margin-top: .75rem; line-height: 1.9; }
  .w { border-radius: 3px; padding: 0 .1rem; }
  .w sup { font-size: .7em; font-weight: 700; margin-left: 1px; }
  .w.p1 { background: #d8f3df; } .w.p2 { background: #a9e5b8; font-weight: 600; }
  .w.n1 { background: #fbdcdc; } .w.n2 { background: #f5aaaa; font-weight: 600; }
  .w.unseen { color: var(--muted); }
  #explaining { color: var(--muted); font-style: italic; }
  .stale { opacity: .45; }
${w.css}  .tops { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
  .tops ol { margin: 0; padding-left: 1.4rem; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
  dt { font-weight: 600; } dd { margin: 0; }
  #card { margin-top: 1.5rem; padding: 1rem; background: #fff; border: 1px solid #d8dde2; border-radius: 8px; }
  footer { color: var(--muted); font-size: .85rem; margin-top: 1.5rem; }
</style>
</head>
<body>
<main>
<h1>${w.title}</h1>
<p class="sub">${w.sub} It runs in this page with TensorFlow.js; nothing you type leaves your browser.</p>
<label for="review">Movie review</label>
<textarea id="review" rows="7" aria-describedby="hint" placeholder="Type or paste a review, e.g. A moving, beautifully acted film." disabled></textarea>
<p id="hint">${w.hint}</p>
<p id="status" role="status">Loading the model…</p>
<section id="result" aria-live="polite" aria-label="Prediction" hidden>
  <p><span id="verdict"></span> <span id="probability"></span> <span id="notes"></span> <span id="explaining" hidden>explaining…</span></p>${w.bars}
  <div id="explanation"></div>
  <div class="tops">
    <div><h2>${w.towards}</h2><ol id="top-positive"></ol></div>
    <div><h2>${w.against}</h2><ol id="top-negative"></ol></div>
  </div>
  <p class="sub">A word's contribution is ${w.method} (occlusion), as <code>rnn predict --explain</code> computes it. Grey words never reached the model.</p>
</section>
<section id="card" aria-labelledby="card-title">
  <h2 id="card-title">Model card</h2>
  <dl>${rows}<dt>Runs on</dt><dd id="backend">TensorFlow.js ${escapeHtml(c.tfjs)}, backend chosen when the page loads</dd><dt>Speed</dt><dd id="timing">measured on this device as you type</dd></dl>
</section>
<footer>Exported by rnn · the model: <a href="model/model.json">model.json</a>, <a href="model/tokenizer.json">tokenizer.json</a>, <a href="model/metadata.json">metadata.json</a></footer>
</main>
<script src="app.js"></script>
</body>
</html>
`;
}
