"""Keras 3 training the language model `rnn pretrain` trains, step by step, for bench/lm-side-by-side.mjs.

The same model: Embedding(VOCAB -> 100) -> CELL(128, return_sequences=True) -> Dense(VOCAB) (the next word's
logits), Adam (1e-3, global_clipnorm=1.0), on rows as `rnn pretrain`'s default layout makes them: each of the
first 3,000 training reviews' last BPTT + 1 ids (Keras's Tokenizer, num_words=VOCAB, fitted on those reviews;
pad_sequences 'pre'), inputs the first BPTT, targets the next BPTT, padding targets left out of the loss. Three
losses, as bench/lm-output.mjs times them: the full softmax (sparse categorical cross-entropy from the logits),
TensorFlow's sampled softmax (tf.nn.sampled_softmax_loss, 512 log-uniform candidates, accidental hits
removed) and the body alone (the mean of the recurrent outputs), so the output layer's share of a step is
(step - body) / step. Each step is one compiled tf.function call (Keras's own train_step compiles the same way);
median of STEPS steps after 3 warm-up steps, the same random batches for the three.

    tf-venv/bin/python bench/keras_lm_reference.py path/to/aclImdb_v1.tar.gz [CELL [STEPS [BATCH [BPTT [VOCAB]]]]]

Prints one JSON object: {"cell", "batch", "bptt", "vocab", "samples", "rows": [{"way", "kind", "msPerStep",
"tokensPerSec", "outputShare"}]}, tokens/s counting the predicted words as rnn does.
"""
import json
import os
import re
import sys
import tarfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ.setdefault("KERAS_BACKEND", "tensorflow")

import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402
import keras  # noqa: E402
from keras.src.legacy.preprocessing.text import Tokenizer  # noqa: E402
from keras.utils import pad_sequences  # noqa: E402

ENTRY = re.compile(r"(?:^|/)train/(pos|neg)/(\d+)_(\d+)\.txt$")
SAMPLES = 512


def texts_of(path, n):
    out = []
    with tarfile.open(path) as t:
        for m in t:
            if m.isfile() and ENTRY.search(m.name):
                out.append(t.extractfile(m).read().decode("utf-8").replace("<br />", " "))
                if len(out) == n:
                    break
    return out


def main():
    args = sys.argv[1:]
    path = args[0]
    cell = args[1] if len(args) > 1 else "lstm"
    steps = int(args[2]) if len(args) > 2 else 20
    batch = int(args[3]) if len(args) > 3 else 32
    bptt = int(args[4]) if len(args) > 4 else 256
    vocab = int(args[5]) if len(args) > 5 else 10000
    texts = texts_of(path, 3000)
    tok = Tokenizer(num_words=vocab)
    tok.fit_on_texts(texts)
    rows = pad_sequences(tok.texts_to_sequences(texts), maxlen=bptt + 1, padding="pre", truncating="pre").astype("int32")
    layer = {"lstm": keras.layers.LSTM, "gru": keras.layers.GRU, "simplernn": keras.layers.SimpleRNN}[cell]
    rng = np.random.default_rng(42)
    picks = [rng.integers(0, len(rows), batch) for _ in range(steps + 3)]
    result = []
    for kind in ("full", "sampled", "body"):
        keras.utils.set_random_seed(42)
        emb = keras.layers.Embedding(vocab, 100)
        rnn = layer(128, return_sequences=True)
        out = keras.layers.Dense(vocab)
        inp = keras.Input((bptt,), dtype="int32")
        body = keras.Model(inp, rnn(emb(inp)))
        model = keras.Model(inp, out(body.output))
        opt = keras.optimizers.Adam(1e-3, global_clipnorm=1.0)
        weights = model.trainable_variables if kind != "body" else body.trainable_variables

        @tf.function(jit_compile=False)
        def step(x, y):
            with tf.GradientTape() as tape:
                h = body(x, training=True)
                keep = tf.not_equal(y, 0)
                hk = tf.boolean_mask(h, keep)
                yk = tf.boolean_mask(y, keep)
                if kind == "body":
                    loss = tf.reduce_mean(h)
                elif kind == "full":
                    logits = out(hk)
                    loss = tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(labels=yk, logits=logits))
                else:
                    loss = tf.reduce_mean(
                        tf.nn.sampled_softmax_loss(
                            weights=tf.transpose(out.kernel),
                            biases=out.bias,
                            labels=tf.cast(yk[:, None], tf.int64),
                            inputs=hk,
                            num_sampled=SAMPLES,
                            num_classes=vocab,
                        )
                    )
            grads = tape.gradient(loss, weights)
            opt.apply_gradients(zip(grads, weights))
            return loss

        times, tokens = [], []
        for i, p in enumerate(picks):
            b = rows[p]
            x, y = tf.constant(b[:, :-1]), tf.constant(b[:, 1:])
            t0 = time.perf_counter()
            float(step(x, y))
            if i >= 3:
                times.append((time.perf_counter() - t0) * 1000)
                tokens.append(int(np.count_nonzero(b[:, 1:])))
        result.append({"kind": kind, "ms": float(np.median(times)), "tokens": float(np.mean(tokens))})
    body_ms = next(r["ms"] for r in result if r["kind"] == "body")
    print(
        json.dumps(
            {
                "cell": cell,
                "batch": batch,
                "bptt": bptt,
                "vocab": vocab,
                "samples": SAMPLES,
                "keras": keras.__version__,
                "tensorflow": tf.__version__,
                "rows": [
                    {
                        "way": "Keras 3 (TensorFlow)",
                        "kind": r["kind"],
                        "msPerStep": r["ms"],
                        "tokensPerSec": r["tokens"] / (r["ms"] / 1000),
                        "outputShare": 0 if r["kind"] == "body" else (r["ms"] - body_ms) / r["ms"],
                    }
                    for r in result
                ],
            }
        )
    )


if __name__ == "__main__":
    main()
