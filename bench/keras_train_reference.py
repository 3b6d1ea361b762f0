"""Keras reference for the full-scale results (docs/experiments.md): the Keras lesson in Keras 3 on the same data.

Reads the aclImdb tarball, replaces <br /> with spaces, fits Keras's Tokenizer(num_words=10000) on the
25,000 training reviews (shuffled with the seed, as rnn does), pads/truncates to 256 ('pre'), trains
Embedding(10000 -> 100) -> CELL(128) -> Dense(1, sigmoid) with adam (1e-3) on binary cross-entropy, batch 64,
validation_split 0.2, 3 epochs, then prints the history and the test accuracy as JSON.

    keras-venv/bin/python bench/keras_train_reference.py path/to/aclImdb_v1.tar.gz lstm 42
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

ENTRY = re.compile(r"(?:^|/)(train|test)/(pos|neg)/(\d+)_\d+\.txt$")


def load(path):
    out = {"train": [], "test": []}
    with tarfile.open(path) as tf:
        for m in tf:
            g = ENTRY.search(m.name)
            if m.isfile() and g:
                out[g[1]].append((0 if g[2] == "neg" else 1, int(g[3]), tf.extractfile(m).read().decode("utf-8").replace("<br />", " ")))
    for k in out:
        out[k].sort(key=lambda r: (r[0], r[1]))
    return out


def main():
    path, cell, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    keras.utils.set_random_seed(seed)
    data = load(path)
    train = data["train"]
    np.random.default_rng(seed).shuffle(train)
    tok = Tokenizer(num_words=10000)
    tok.fit_on_texts([r[2] for r in train])
    enc = lambda rows: pad_sequences(tok.texts_to_sequences([r[2] for r in rows]), maxlen=256)
    x, y = enc(train), np.array([r[0] for r in train], dtype="float32")
    xt, yt = enc(data["test"]), np.array([r[0] for r in data["test"]], dtype="float32")
    layer = {"simplernn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    model = keras.Sequential([keras.Input((256,), dtype="int32"), keras.layers.Embedding(10000, 100), layer(128), keras.layers.Dense(1, activation="sigmoid")])
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss="binary_crossentropy", metrics=["accuracy"])
    t0 = time.perf_counter()
    h = model.fit(x, y, epochs=3, batch_size=64, validation_split=0.2, verbose=0)
    seconds = time.perf_counter() - t0
    loss, acc = model.evaluate(xt, yt, batch_size=256, verbose=0)
    print(json.dumps({"keras": keras.__version__, "cell": cell, "seed": seed, "history": h.history, "train_seconds": seconds, "test_loss": loss, "test_accuracy": acc}))


if __name__ == "__main__":
    main()
