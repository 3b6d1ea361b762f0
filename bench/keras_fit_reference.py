"""Keras reference for `rnn bench neighbour`: the lesson model's `fit` in Keras 3 on N training reviews, samples/s.

Reads the aclImdb tarball's training reviews, replaces <br /> with spaces, takes N of them in a seeded shuffle,
fits Keras's Tokenizer(num_words=VOCAB) on them, pads/truncates to MAXLEN ('pre'), and trains
Embedding(VOCAB -> 100) -> CELL(128) -> Dense(1, sigmoid) with adam (1e-3) on binary cross-entropy for EPOCHS
epochs at batch BATCH without validation, as `rnn train --limit N --validation-split 0` does. One batch is
fitted first, untimed, so that the figure leaves out tracing the training function (rnn's own figure keeps
its first batch: the comparison leans toward Keras). Prints one JSON line: the Keras version and samples/s.
GRU runs with reset_after=False, tfjs's (and rnn's) GRU, so that both sides run the identical model.

    /path/to/venv/bin/python bench/keras_fit_reference.py path/to/aclImdb_v1.tar.gz CELL [N [EPOCHS [BATCH [SEED [VOCAB [MAXLEN]]]]]]
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

ENTRY = re.compile(r"(?:^|/)train/(pos|neg)/(\d+)_\d+\.txt$")


def reviews(path):
    out = []
    with tarfile.open(path) as tf:
        for m in tf:
            g = ENTRY.search(m.name)
            if m.isfile() and g:
                out.append((0 if g[1] == "neg" else 1, int(g[2]), tf.extractfile(m).read().decode("utf-8").replace("<br />", " ")))
    out.sort(key=lambda r: (r[0], r[1]))
    return out


def main():
    path, cell = sys.argv[1], sys.argv[2]
    n, epochs, batch, seed, vocab, maxlen = [int(a) for a in sys.argv[3:9]] + [2048, 1, 64, 1, 10000, 256][len(sys.argv[3:9]) :]
    rows = reviews(path)
    np.random.default_rng(seed).shuffle(rows)
    rows = rows[:n]
    tok = Tokenizer(num_words=vocab)
    tok.fit_on_texts([r[2] for r in rows])
    x = pad_sequences(tok.texts_to_sequences([r[2] for r in rows]), maxlen=maxlen)
    y = np.array([r[0] for r in rows], dtype="float32")
    keras.utils.set_random_seed(seed)
    gru = lambda units: keras.layers.GRU(units, reset_after=False)  # noqa: E731
    layer = {"simplernn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": gru}[cell]
    model = keras.Sequential(
        [keras.Input((maxlen,), dtype="int32"), keras.layers.Embedding(vocab, 100), layer(128), keras.layers.Dense(1, activation="sigmoid")]
    )
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
    model.fit(x[:batch], y[:batch], epochs=1, batch_size=batch, verbose=0)
    t0 = time.perf_counter()
    model.fit(x, y, epochs=epochs, batch_size=batch, shuffle=True, verbose=0)
    seconds = time.perf_counter() - t0
    print(json.dumps({"keras": keras.__version__, "cell": cell, "samples": len(x) * epochs, "seconds": seconds, "samplesPerSec": len(x) * epochs / seconds}))


if __name__ == "__main__":
    main()
