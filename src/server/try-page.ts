/**
 * The page `simpair serve` answers on `GET /`: two sentence boxes and a button, the answer
 * (probability and decision), the facts and pictures of the model in service, and in store
 * mode the runs (refreshed while one works) and a form to upload a dataset. Plain HTML and
 * one script served by the same server: no framework, nothing loaded from elsewhere. The
 * script talks to the same JSON API as any client (JSON bodies, the token as a Bearer header
 * when the server needs one).
 */
export const TRY_PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>simpair: do two sentences mean the same?</title>
<style>
  body { font: 16px/1.5 system-ui, sans-serif; max-width: 52rem; margin: 0 auto; padding: 1rem; color: #1a1a1a; background: #fff; }
  h1 { font-size: 1.5rem; } h2 { font-size: 1.2rem; margin-top: 2rem; }
  label { display: block; font-weight: 600; margin-top: .75rem; }
  textarea, input[type=text], input[type=password] { width: 100%; box-sizing: border-box; font: inherit; padding: .4rem; border: 1px solid #555; border-radius: 4px; }
  button { font: inherit; margin-top: .75rem; padding: .4rem 1rem; border: 1px solid #0b4f8a; border-radius: 4px; background: #0b5cad; color: #fff; cursor: pointer; }
  button:focus-visible, textarea:focus-visible, input:focus-visible { outline: 3px solid #f0a500; outline-offset: 2px; }
  button[disabled] { background: #6b7c8f; border-color: #6b7c8f; }
  .answer { font-size: 1.2rem; margin-top: 1rem; min-height: 1.5em; }
  .error { color: #a00000; }
  table { border-collapse: collapse; margin-top: .5rem; }
  th, td { text-align: left; padding: .2rem .8rem .2rem 0; border-bottom: 1px solid #ddd; vertical-align: top; }
  img { max-width: 100%; height: auto; border: 1px solid #ddd; margin-top: .5rem; }
  [hidden] { display: none !important; }
  .visually-hidden { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
</style>
</head>
<body>
<main>
<h1>Do two sentences mean the same?</h1>
<form id="predict-form">
  <label for="s1">First sentence</label>
  <textarea id="s1" name="s1" rows="2" maxlength="2000" required></textarea>
  <label for="s2">Second sentence</label>
  <textarea id="s2" name="s2" rows="2" maxlength="2000" required></textarea>
  <button type="submit" id="predict-button">Compare</button>
</form>
<p class="answer" id="answer" role="status" aria-live="polite"></p>

<details id="token-box">
  <summary>Access token</summary>
  <label for="token">Token (only if the server was started with one)</label>
  <input type="password" id="token" autocomplete="off">
</details>

<section aria-labelledby="model-heading">
  <h2 id="model-heading">The model answering</h2>
  <p id="model-status" role="status" aria-live="polite">Loading…</p>
  <table id="model-facts" hidden><caption class="visually-hidden">Model facts</caption><tbody></tbody></table>
  <div id="model-pictures"></div>
</section>

<section aria-labelledby="runs-heading" id="runs-section" hidden>
  <h2 id="runs-heading">Training runs</h2>
  <form id="upload-form">
    <label for="dataset">Dataset to train on (TSV, CSV or JSONL with sentence1, sentence2, label)</label>
    <input type="file" id="dataset" name="dataset" accept=".tsv,.csv,.jsonl,.txt" required>
    <button type="submit" id="upload-button">Upload and train</button>
  </form>
  <p id="upload-status" role="status" aria-live="polite"></p>
  <table id="runs"><caption>Runs, newest first</caption>
    <thead><tr><th scope="col">Run</th><th scope="col">Dataset</th><th scope="col">State</th><th scope="col">Failed step and reason</th></tr></thead>
    <tbody></tbody>
  </table>
</section>
</main>
<script src="/try-page.js"></script>
</body>
</html>
`;

/** The page's script (served as `/try-page.js`, so the page needs no inline script). */
export const TRY_PAGE_SCRIPT = `'use strict';
(function () {
  const $ = (id) => document.getElementById(id);
  const tokenInput = $('token');
  tokenInput.value = sessionStorage.getItem('simpair-token') || '';
  tokenInput.addEventListener('change', () => { sessionStorage.setItem('simpair-token', tokenInput.value); refresh(); });

  async function api(method, path, body) {
    const headers = {};
    if (tokenInput.value) headers.authorization = 'Bearer ' + tokenInput.value;
    if (body !== undefined) headers['content-type'] = 'application/json';
    const res = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
    const type = res.headers.get('content-type') || '';
    const value = type.startsWith('application/json') ? await res.json() : await res.blob();
    if (res.status === 401) {
      // The server's message names an HTTP header, for API clients; on the page the token goes in its own box.
      $('token-box').open = true;
      const err = new Error(tokenInput.value
        ? 'The access token is not the one this server was started with; correct it in "Access token" below.'
        : 'This server needs an access token: enter it in "Access token" below (the token simpair serve was started with).');
      err.status = 401;
      throw err;
    }
    if (!res.ok) {
      const err = new Error((value && value.message) || ('HTTP ' + res.status));
      err.status = res.status;
      throw err;
    }
    return value;
  }

  function text(el, value, isError) {
    el.textContent = value;
    el.classList.toggle('error', Boolean(isError));
  }

  function row(cells) {
    const tr = document.createElement('tr');
    cells.forEach((c, i) => {
      const cell = document.createElement(i === 0 ? 'th' : 'td');
      if (i === 0) cell.scope = 'row';
      cell.textContent = c;
      tr.appendChild(cell);
    });
    return tr;
  }

  let threshold = 0.5;
  $('predict-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const button = $('predict-button');
    button.disabled = true;
    text($('answer'), 'Comparing…');
    try {
      const out = await api('POST', '/predict', { pairs: [{ sentence1: $('s1').value, sentence2: $('s2').value }] });
      const p = out.predictions[0];
      text($('answer'), 'Probability ' + p.probability.toFixed(4) + ': ' + (p.similar ? 'similar (a paraphrase)' : 'not similar') + ' at threshold ' + threshold + '.');
      $('answer').dataset.probability = String(p.probability);
      $('answer').dataset.similar = String(p.similar);
    } catch (err) {
      text($('answer'), 'Could not compare: ' + err.message, true);
    } finally {
      button.disabled = false;
    }
  });

  const pictureUrls = [];
  let shownVersion;
  async function loadModel() {
    let facts;
    try {
      facts = await api('GET', '/model');
    } catch (err) {
      text($('model-status'), err.status === 404 ? 'No model in service yet.' : 'Could not read the model: ' + err.message, err.status !== 404);
      $('model-facts').hidden = true;
      return;
    }
    if (facts.version === shownVersion) return;
    shownVersion = facts.version;
    threshold = facts.threshold;
    text($('model-status'), 'Model ' + facts.version + ', runs on ONNX Runtime' + (facts.classifier === 'model.json' ? ' (model.json converted in memory)' : '') + '.');
    const body = $('model-facts').tBodies[0];
    body.replaceChildren();
    // A cloud run's metrics.json holds the training figures and, under evaluation, the held-out ones.
    const all = facts.metrics || {};
    const m = all.evaluation || all;
    const baseline = all.encoderBaseline || {};
    const fmt = (v) => (typeof v === 'number' ? (Number.isInteger(v) ? String(v) : v.toFixed(4)) : v == null ? 'n/a' : String(v));
    [['Embedding model', facts.embeddingModel], ['maxLen', facts.maxLen], ['Padding', facts.padding], ['Trained', facts.trainedAt],
     ['Decision threshold', facts.threshold], ['Accuracy', m.accuracy], ['F1', m.f1], ['ROC AUC', m.rocAuc],
     ['Evaluated on', m.evaluatedOn || all.evaluatedOn || (m.epochs ? 'training data (last epoch)' : undefined)], ['Pairs evaluated', m.n],
     ['Encoder baseline accuracy (cosine, no training)', baseline.accuracy], ['Encoder baseline ROC AUC', baseline.rocAuc]].forEach(([k, v]) => body.appendChild(row([k, fmt(v)])));
    $('model-facts').hidden = false;
    const pictures = $('model-pictures');
    pictures.replaceChildren();
    pictureUrls.splice(0).forEach((u) => URL.revokeObjectURL(u));
    const alt = { 'training-curves.svg': 'Training curves: loss and accuracy per epoch', 'roc.svg': 'ROC curves of the model and of the encoder baseline on the evaluation data' };
    for (const name of facts.pictures) {
      const blob = await api('GET', '/model/' + name);
      const img = document.createElement('img');
      const url = URL.createObjectURL(blob);
      pictureUrls.push(url);
      img.src = url;
      img.alt = alt[name] || name;
      pictures.appendChild(img);
    }
  }

  let polling;
  async function loadRuns() {
    // Only a server with runs (--store, --bucket) marks the page so: a --model-dir server has
    // no GET /runs, and asking it logged a 404 in the browser console.
    if (!document.body.hasAttribute('data-runs')) return;
    let out;
    try {
      out = await api('GET', '/runs');
    } catch (err) {
      if (err.status === 404) { $('runs-section').hidden = true; return; }
      text($('upload-status'), 'Could not list runs: ' + err.message, true);
      return;
    }
    $('runs-section').hidden = false;
    const body = $('runs').tBodies[0];
    body.replaceChildren();
    out.runs.forEach((r) => {
      const tr = row([r.runId, r.datasetKey || '', r.state, r.error ? (r.error.step || '') + ': ' + (r.error.message || '') : '']);
      tr.dataset.runId = r.runId;
      tr.dataset.state = r.state;
      body.appendChild(tr);
    });
    const working = out.runs.some((r) => r.state !== 'SUCCEEDED' && r.state !== 'FAILED');
    clearTimeout(polling);
    if (working) polling = setTimeout(refresh, 2000);
  }

  $('upload-form').addEventListener('submit', async (event) => {
    event.preventDefault();
    const file = $('dataset').files[0];
    if (!file) return;
    const button = $('upload-button');
    button.disabled = true;
    text($('upload-status'), 'Uploading ' + file.name + '…');
    try {
      const out = await api('POST', '/datasets', { name: file.name, content: await file.text() });
      text($('upload-status'), 'Run ' + out.runId + (out.duplicate ? ' (this dataset was already trained)' : ' started') + '.');
      await loadRuns();
    } catch (err) {
      text($('upload-status'), 'Upload failed: ' + err.message, true);
    } finally {
      button.disabled = false;
    }
  });

  function refresh() {
    return Promise.all([loadModel(), loadRuns()]);
  }
  refresh();
})();
`;
