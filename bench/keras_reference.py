"""Keras reference for `rnn bench --keras-python PYTHON`: the lesson model in Keras 3 / TensorFlow, same shapes and batches.

Trains (train_on_batch: forward, backward, adam) and predicts the lesson model — Embedding(10000 -> 100,
input length 256) -> SimpleRNN/LSTM/GRU(128) -> Dense(1, sigmoid) — on real IMDB reviews tokenized with
Keras's Tokenizer (num_words=10000) and padded to 256, and prints samples/s per cell as JSON. `rnn bench`
passes its own batch size and batch counts, so both sides measure the same batches, and with `--preset`
the preset's architecture: vocabulary, maxlen, Bidirectional (merge_mode concat) and pooling over time
(GlobalMaxPooling1D / GlobalAveragePooling1D on return_sequences=True).

    python3 -m venv keras-venv && keras-venv/bin/pip install tensorflow-cpu==2.21.0
    keras-venv/bin/python bench/keras_reference.py path/to/aclImdb_v1.tar.gz \
        [BATCH [TRAIN_BATCHES [PREDICT_BATCHES [WARMUP [VOCAB [MAXLEN [BIDIRECTIONAL [POOLING [CLASSES]]]]]]]]]

With CLASSES >= 3 (`rnn bench --classes K`) the head is Dense(K, softmax) with sparse categorical cross-entropy
and the labels are the reviews' positions modulo K, as rnn's bench does (a step's cost does not depend on them).
"""
import json
import os
import re
import sys
import tarfile
import time

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np  # noqa: E402
import keras  # noqa: E402
from keras.src.legacy.preprocessing.text import Tokenizer  # noqa: E402
from keras.utils import pad_sequences  # noqa: E402

# rnn bench's defaults; the command line overrides them.
BATCH, TRAIN_BATCHES, PREDICT_BATCHES, WARMUP, VOCAB, MAXLEN, BIDIRECTIONAL = [int(a) for a in sys.argv[2:9]] + [64, 10, 20, 2, 10000, 256, 0][
    len(sys.argv[2:9]) :
]
POOLING = sys.argv[9] if len(sys.argv) > 9 else "last"
CLASSES = int(sys.argv[10]) if len(sys.argv) > 10 else 2
ENTRY = re.compile(r"(?:^|/)train/(pos|neg)/(\d+)_\d+\.txt$")


def reviews(path, n):
    out = []
    with tarfile.open(path) as tf:
        for m in tf:
            g = ENTRY.search(m.name)
            if m.isfile() and g:
                out.append((0 if g[1] == "neg" else 1, int(g[2]), tf.extractfile(m).read().decode("utf-8").replace("<br />", " ")))
    out.sort(key=lambda r: (r[0], r[1]))
    # rnn's bench takes the first reviews of its (negatives first) order; interleave so both labels appear.
    neg = [r for r in out if r[0] == 0]
    pos = [r for r in out if r[0] == 1]
    mixed = [r for pair in zip(neg, pos) for r in pair][:n]
    return [r[2] for r in mixed], np.array([r[0] for r in mixed], dtype="float32")


def main():
    need = BATCH * (WARMUP + max(TRAIN_BATCHES, PREDICT_BATCHES))
    texts, labels = reviews(sys.argv[1], need)
    if CLASSES > 2:
        labels = np.arange(len(labels), dtype="float32") % CLASSES
    tok = Tokenizer(num_words=VOCAB)
    tok.fit_on_texts(texts)
    x = pad_sequences(tok.texts_to_sequences(texts), maxlen=MAXLEN)
    rows = {}
    head = lambda: keras.layers.Dense(CLASSES, activation="softmax") if CLASSES > 2 else keras.layers.Dense(1, activation="sigmoid")  # noqa: E731
    LOSS = "sparse_categorical_crossentropy" if CLASSES > 2 else "binary_crossentropy"
    # GRU with reset_after=False: tfjs's (and rnn's) GRU, so that both sides run the identical model
    gru = lambda units, **kw: keras.layers.GRU(units, reset_after=False, **kw)  # noqa: E731
    for name, layer in [("simplernn", keras.layers.SimpleRNN), ("lstm", keras.layers.LSTM), ("gru", gru)]:
        keras.utils.set_random_seed(1)
        rnn = layer(128, return_sequences=POOLING != "last")
        if BIDIRECTIONAL:
            rnn = keras.layers.Bidirectional(rnn, merge_mode="concat")
        pooling = {"last": [], "max": [keras.layers.GlobalMaxPooling1D()], "mean": [keras.layers.GlobalAveragePooling1D()]}[POOLING]
        model = keras.Sequential(
            [keras.Input((MAXLEN,), dtype="int32"), keras.layers.Embedding(VOCAB, 100), rnn, *pooling, head()]
        )
        model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=LOSS, metrics=["accuracy"])
        batch = lambda k: (x[(k % (need // BATCH)) * BATCH:][:BATCH], labels[(k % (need // BATCH)) * BATCH:][:BATCH])
        for k in range(WARMUP):
            model.train_on_batch(*batch(k))
        t0 = time.perf_counter()
        for k in range(TRAIN_BATCHES):
            model.train_on_batch(*batch(WARMUP + k))
        train = TRAIN_BATCHES * BATCH / (time.perf_counter() - t0)
        for k in range(WARMUP):
            model.predict_on_batch(batch(k)[0])
        t0 = time.perf_counter()
        for k in range(PREDICT_BATCHES):
            model.predict_on_batch(batch(WARMUP + k)[0])
        predict = PREDICT_BATCHES * BATCH / (time.perf_counter() - t0)
        rows[name] = {"trainSamplesPerSec": train, "predictSamplesPerSec": predict}
    print(json.dumps({"keras": keras.__version__, "rows": rows}))


if __name__ == "__main__":
    main()
