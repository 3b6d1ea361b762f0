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
  /** The last `rnn eval` (null: never evaluated). */
  /** The last `rnn eval`: a binary model's F1 and ROC-AUC, or a k-class model's macro-F1. */
  test: { accuracy: number; f1?: number; rocAuc?: number; macroF1?: number; reviews: number; evaluatedAt: string } | null;
  quantize: string;
  /** The tfjs version of the bundled browser build. */
  tfjs: string;
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

/** The model card as a definition list. */
function cardRows(c: ModelCard): [string, string][] {
  const weights = c.quantize === 'none' ? 'float32' : `${c.quantize} (quantized at export)`;
  return [
    [
      'Model',
      `Embedding(${int(c.vocabSize)} → ${c.embeddingDim}) → ${recurrentLayers(c)} → Dense(1, sigmoid); ${int(c.params)} parameters`,
    ],
    [
      'Test accuracy',
      c.test
        ? `${pct(c.test.accuracy)} (${c.test.macroF1 !== undefined ? `macro-F1 ${c.test.macroF1.toFixed(4)}` : `F1 ${c.test.f1!.toFixed(4)}, ROC-AUC ${c.test.rocAuc!.toFixed(4)}`}) on ${int(c.test.reviews)} test reviews`
        : 'not evaluated (run rnn eval before exporting)',
    ],
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

export function pageHtml(c: ModelCard): string {
  const cell = cellName(c.cell);
  const rows = cardRows(c)
    .map(([k, v]) => `<dt>${k}</dt><dd>${v}</dd>`)
    .join('');
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
  .tops { display: grid; grid-template-columns: 1fr 1fr; gap: 1rem; }
  .tops ol { margin: 0; padding-left: 1.4rem; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: .25rem 1rem; margin: 0; }
  dt { font-weight: 600; } dd { margin: 0; }
  #card { margin-top: 1.5rem; padding: 1rem; background: #fff; border: 1px solid #d8dde2; border-radius: 8px; }
  footer { color: var(--muted); font-size: .85rem; margin-top: 1.5rem; }
</style>
</head>
<body>
<main>
<h1>Is this movie review positive?</h1>
<p class="sub">${/^[AEIOU]|^LSTM/.test(cell) ? 'An' : 'A'} ${cell} trained with rnn on IMDB reviews. It runs in this page with TensorFlow.js; nothing you type leaves your browser.</p>
<label for="review">Movie review</label>
<textarea id="review" rows="7" aria-describedby="hint" placeholder="Type or paste a review, e.g. A moving, beautifully acted film." disabled></textarea>
<p id="hint">The verdict updates as you type. Each word is marked with how it moved the score: + towards positive, − towards negative.</p>
<p id="status" role="status">Loading the model…</p>
<section id="result" aria-live="polite" aria-label="Prediction" hidden>
  <p><span id="verdict"></span> <span id="probability"></span> <span id="notes"></span></p>
  <div id="explanation"></div>
  <div class="tops">
    <div><h2>Most positive words</h2><ol id="top-positive"></ol></div>
    <div><h2>Most negative words</h2><ol id="top-negative"></ol></div>
  </div>
  <p class="sub">A word's contribution is the change in log-odds when it is removed (occlusion), as <code>rnn predict --explain</code> computes it. Grey words never reached the model.</p>
</section>
<section id="card" aria-labelledby="card-title">
  <h2 id="card-title">Model card</h2>
  <dl>${rows}<dt>Runs on</dt><dd id="backend">TensorFlow.js ${escapeHtml(c.tfjs)}, backend chosen when the page loads</dd></dl>
</section>
<footer>Exported by rnn · the model: <a href="model/model.json">model.json</a>, <a href="model/tokenizer.json">tokenizer.json</a>, <a href="model/metadata.json">metadata.json</a></footer>
</main>
<script src="tf.min.js"></script>
<script src="app.js"></script>
</body>
</html>
`;
}
