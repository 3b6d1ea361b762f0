"""Keras reference for the full-scale results (docs/experiments.md): the Keras lesson in Keras 3 on the same data.

Reads the aclImdb tarball, replaces <br /> with spaces, fits Keras's Tokenizer(num_words=10000) on the
25,000 training reviews (shuffled with the seed, as rnn does), pads/truncates to 256 ('pre'), trains
Embedding(10000 -> 100) -> CELL(128) -> Dense(1, sigmoid) with adam (1e-3) on binary cross-entropy, batch 64,
validation_split 0.2, 3 epochs, then prints the history and the test accuracy as JSON.

    keras-venv/bin/python bench/keras_train_reference.py path/to/aclImdb_v1.tar.gz lstm 42 [rating]

With `rating` (rnn's `--target rating`) the labels are the eight ratings of the file names (1-4 and 7-10, in
that order, class indices 0-7) and the model ends in Dense(8, softmax) with sparse categorical cross-entropy;
the output adds macro-F1, the mean absolute error of the predicted rating and the share within one label
(adjacent ratings in that order), as `rnn eval` computes them.
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

ENTRY = re.compile(r"(?:^|/)(train|test)/(pos|neg)/(\d+)_(\d+)\.txt$")
RATINGS = [1, 2, 3, 4, 7, 8, 9, 10]


def load(path, rating=False):
    out = {"train": [], "test": []}
    with tarfile.open(path) as tf:
        for m in tf:
            g = ENTRY.search(m.name)
            if m.isfile() and g:
                label = RATINGS.index(int(g[4])) if rating else (0 if g[2] == "neg" else 1)
                out[g[1]].append((label, int(g[3]), tf.extractfile(m).read().decode("utf-8").replace("<br />", " ")))
    for k in out:
        out[k].sort(key=lambda r: (r[0], r[1]))
    return out


def main():
    path, cell, seed = sys.argv[1], sys.argv[2], int(sys.argv[3])
    rating = len(sys.argv) > 4 and sys.argv[4] == "rating"
    keras.utils.set_random_seed(seed)
    data = load(path, rating)
    train = data["train"]
    np.random.default_rng(seed).shuffle(train)
    tok = Tokenizer(num_words=10000)
    tok.fit_on_texts([r[2] for r in train])
    enc = lambda rows: pad_sequences(tok.texts_to_sequences([r[2] for r in rows]), maxlen=256)
    x, y = enc(train), np.array([r[0] for r in train], dtype="float32")
    xt, yt = enc(data["test"]), np.array([r[0] for r in data["test"]], dtype="float32")
    layer = {"simplernn": keras.layers.SimpleRNN, "lstm": keras.layers.LSTM, "gru": keras.layers.GRU}[cell]
    head = keras.layers.Dense(len(RATINGS), activation="softmax") if rating else keras.layers.Dense(1, activation="sigmoid")
    model = keras.Sequential([keras.Input((256,), dtype="int32"), keras.layers.Embedding(10000, 100), layer(128), head])
    loss_name = "sparse_categorical_crossentropy" if rating else "binary_crossentropy"
    model.compile(optimizer=keras.optimizers.Adam(1e-3), loss=loss_name, metrics=["accuracy"])
    t0 = time.perf_counter()
    h = model.fit(x, y, epochs=3, batch_size=64, validation_split=0.2, verbose=0)
    seconds = time.perf_counter() - t0
    loss, acc = model.evaluate(xt, yt, batch_size=256, verbose=0)
    out = {"keras": keras.__version__, "cell": cell, "seed": seed, "history": h.history, "train_seconds": seconds, "test_loss": loss, "test_accuracy": acc}
    if rating:
        pred = model.predict(xt, batch_size=256, verbose=0).argmax(axis=1)
        truth = yt.astype(int)
        f1s = []
        for c in range(len(RATINGS)):
            tp = int(((pred == c) & (truth == c)).sum())
            fp = int(((pred == c) & (truth != c)).sum())
            fn = int(((pred != c) & (truth == c)).sum())
            f1s.append(0.0 if tp == 0 else 2 * tp / (2 * tp + fp + fn))
        values = np.array(RATINGS)
        out["test_macro_f1"] = float(np.mean(f1s))
        out["test_mean_absolute_error"] = float(np.abs(values[pred] - values[truth]).mean())
        out["test_within_one_step"] = float((np.abs(pred - truth) <= 1).mean())
        out["train_samples_per_sec"] = len(x) * 0.8 * 3 / seconds
    print(json.dumps(out))


if __name__ == "__main__":
    main()
