"""The recipe's Keras Bi-LSTM and an epoch timer, shared by reference.py (recipe end to end)
and keras_train.py (Keras on simpair's own embeddings)."""
import sys
import time


def build_recipe_model(keras, max_len: int, hidden: int, seed: int):
    """Bidirectional(LSTM(64, return_sequences)) -> Bidirectional(LSTM(64)) -> Dense(1, sigmoid), compiled as the recipe."""
    keras.utils.set_random_seed(seed)
    model = keras.Sequential(
        [
            keras.layers.Bidirectional(keras.layers.LSTM(64, return_sequences=True), input_shape=(max_len, hidden)),
            keras.layers.Bidirectional(keras.layers.LSTM(64)),
            keras.layers.Dense(1, activation="sigmoid"),
        ]
    )
    model.compile(optimizer="adam", loss="binary_crossentropy", metrics=["accuracy"])
    return model


def epoch_timer(keras):
    """A Keras callback recording each epoch's wall-clock seconds in `.seconds` and logging it."""

    class EpochTimer(keras.callbacks.Callback):
        def __init__(self):
            super().__init__()
            self.seconds: list[float] = []

        def on_epoch_begin(self, epoch, logs=None):
            self.t = time.perf_counter()

        def on_epoch_end(self, epoch, logs=None):
            self.seconds.append(time.perf_counter() - self.t)
            logs = logs or {}
            print(f"[ref] keras epoch {epoch + 1}: {self.seconds[-1]:.1f} s, loss {logs.get('loss', float('nan')):.4f}, "
                  f"val_acc {logs.get('val_accuracy', float('nan')):.4f}", file=sys.stderr, flush=True)

    return EpochTimer()
