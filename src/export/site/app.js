// Frugal's browser demo: loads model/model.json (TF.js) and model/frugal.json (classes, input size,
// preprocessing), and classifies a dropped image exactly as `frugal predict` does.
/* global tf */
(async () => {
  const status = document.getElementById('status');
  const results = document.getElementById('results');
  const preview = document.getElementById('preview');
  const drop = document.getElementById('drop');
  const input = document.getElementById('file');
  let model;
  let meta;
  try {
    try {
      tf.wasm.setWasmPaths(new URL('vendor/', location.href).href);
      await tf.setBackend('wasm');
    } catch {
      await tf.setBackend('cpu');
    }
    await tf.ready();
    meta = await (await fetch('model/frugal.json')).json();
    model = await tf.loadLayersModel('model/model.json');
    status.textContent = `Ready: ${meta.classes.length} classes, input ${meta.input.width}×${meta.input.height}, backend ${tf.getBackend()}.`;
    document.body.dataset.ready = 'true';
  } catch (err) {
    status.textContent = `Could not load the model: ${err.message}`;
    return;
  }

  /** Draw the image at the model's input size with its resize policy; return H×W×C bytes. */
  function pixels(img) {
    const { height: h, width: w, channels: c, resize } = meta.input;
    const canvas = document.createElement('canvas');
    canvas.width = w;
    canvas.height = h;
    const ctx = canvas.getContext('2d', { willReadFrequently: true });
    ctx.fillStyle = '#000';
    ctx.fillRect(0, 0, w, h);
    ctx.imageSmoothingQuality = 'high';
    const iw = img.naturalWidth;
    const ih = img.naturalHeight;
    if (resize === 'center-crop') {
      const s = Math.max(w / iw, h / ih);
      const cw = w / s;
      const ch = h / s;
      ctx.drawImage(img, (iw - cw) / 2, (ih - ch) / 2, cw, ch, 0, 0, w, h);
    } else if (resize === 'pad') {
      const s = Math.min(w / iw, h / ih);
      ctx.drawImage(img, (w - iw * s) / 2, (h - ih * s) / 2, iw * s, ih * s);
    } else {
      ctx.drawImage(img, 0, 0, w, h);
    }
    const rgba = ctx.getImageData(0, 0, w, h).data;
    const out = new Uint8Array(h * w * c);
    for (let i = 0; i < h * w; i++) {
      const r = rgba[i * 4],
        g = rgba[i * 4 + 1],
        b = rgba[i * 4 + 2];
      if (c === 1)
        out[i] = (r * 19595 + g * 38470 + b * 7471 + 0x8000) >> 16; // PIL's luma, as the Node side
      else {
        out[i * 3] = r;
        out[i * 3 + 1] = g;
        out[i * 3 + 2] = b;
      }
    }
    return out;
  }

  async function classify(file) {
    const url = URL.createObjectURL(file);
    const img = new Image();
    img.src = url;
    await img.decode();
    preview.src = url;
    preview.hidden = false;
    const { height: h, width: w, channels: c } = meta.input;
    const px = pixels(img);
    const { mean, std } = meta.preprocessing;
    const x = new Float32Array(px.length);
    for (let i = 0; i < px.length; i++) x[i] = (px[i] / 255 - mean[i % c]) / std[i % c];
    const probs = tf.tidy(() => model.predict(tf.tensor4d(x, [1, h, w, c])).dataSync());
    const top = Array.from(probs, (p, i) => [p, i])
      .sort((a, b) => b[0] - a[0])
      .slice(0, 5);
    results.innerHTML = '';
    for (const [p, i] of top) {
      const li = document.createElement('li');
      li.dataset.class = meta.classes[i];
      li.dataset.probability = String(p);
      li.innerHTML = `<span class="name"></span><div class="bar" style="width:${(p * 100).toFixed(1)}%"></div><span>${(p * 100).toFixed(1)}%</span>`;
      li.querySelector('.name').textContent = meta.classes[i];
      results.appendChild(li);
    }
    status.textContent = `${file.name}: ${meta.classes[top[0][1]]}`;
  }

  input.addEventListener('change', () => input.files[0] && classify(input.files[0]));
  drop.addEventListener('dragover', (e) => {
    e.preventDefault();
    drop.classList.add('over');
  });
  drop.addEventListener('dragleave', () => drop.classList.remove('over'));
  drop.addEventListener('drop', (e) => {
    e.preventDefault();
    drop.classList.remove('over');
    if (e.dataTransfer.files[0]) classify(e.dataTransfer.files[0]);
  });
})();
