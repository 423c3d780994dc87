// The page of a served recipe model. It asks /ui/config what the model takes (an image or a user) and which kind
// of result it gives, then draws each answer of POST /predict with the renderer of that kind (see `renderers`).
// Plain JavaScript, no libraries, no CDN: it works on a machine without internet.
'use strict';

const page = {
  config: null,
  apiKey: sessionStorage.getItem('recipes-api-key'),
};

const $ = (id) => document.getElementById(id);

function setStatus(text, isError = false) {
  $('status').textContent = text;
  $('status').classList.toggle('error', isError);
}

// Every call carries the API key once the user gave one; a 401 shows the key form.
async function call(path, options = {}) {
  const headers = new Headers(options.headers || {});
  if (page.apiKey) headers.set('X-API-Key', page.apiKey);
  const response = await fetch(path, { ...options, headers });
  if (response.status === 401) {
    $('key-form').hidden = false;
    throw new Error('this service needs an API key');
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

async function loadConfig() {
  try {
    page.config = await call('/ui/config');
  } catch (error) {
    setStatus(`${error.message}; retrying`, true);
    setTimeout(loadConfig, 2000); // the model may still be loading (503)
    return;
  }
  const config = page.config;
  $('title').textContent = `${config.model}`;
  $('subtitle').textContent = `version ${config.version}: ${describe(config.kind)}`;
  $('image-input').hidden = config.input !== 'image';
  $('user-input').hidden = config.input !== 'user';
  if (config.input === 'user' && config.page && Array.isArray(config.page.users)) {
    $('users').replaceChildren(...config.page.users.map((user) => Object.assign(document.createElement('option'), { value: user })));
  }
  setStatus('Ready.');
}

function describe(kind) {
  return {
    classes: 'upload an image to see its classes',
    heatmap: 'upload an image to see its classes and where the model looked',
    boxes: 'upload an image to see the objects found',
    neighbours: 'upload an image to see the most similar stored images',
    recommendations: 'pick a user to see the items recommended',
  }[kind] || kind;
}

async function predictImage(file) {
  if (!file) return;
  $('picture').src = URL.createObjectURL(file);
  $('preview').hidden = false;
  clearOverlay();
  const form = new FormData();
  form.append('image', file, file.name);
  await predict('/predict', { method: 'POST', body: form });
}

async function predictUser(user) {
  await predict(`/predict?user=${encodeURIComponent(user)}`, { method: 'POST' });
}

async function predict(path, options) {
  setStatus('Asking the model…');
  $('top').hidden = true;
  $('result').replaceChildren();
  try {
    const answer = await call(path, options);
    const render = renderers[page.config.kind];
    if (!render) throw new Error(`this page cannot draw results of kind '${page.config.kind}'`);
    await render(answer);
    setStatus('Done.');
  } catch (error) {
    setStatus(error.message, true);
  }
}

// One renderer per result kind of the service (ResultKind in shared/Serving/ServedModel.cs); each takes the
// answer of /predict as JSON.
const renderers = {
  classes: (answer) => showClasses(answer.classes),
  heatmap: async (answer) => {
    showClasses(answer.classes);
    // The heatmap is one finding's map (the most probable one unless the request asked ?finding=): mark its row.
    for (const row of $('result').children) {
      if (row.dataset.label !== answer.finding) continue;
      row.classList.add('heatmap');
      row.title = 'the heatmap shows where the model looked for this finding';
    }
    await imageLoaded();
    drawHeatmap(answer.width, answer.height, answer.heat);
  },
  boxes: async (answer) => {
    await imageLoaded();
    drawBoxes(answer.boxes);
    $('result').replaceChildren(table(['object', 'score'], answer.boxes.map((box) => [box.label, percent(box.score)])));
  },
  neighbours: (answer) => showNeighbours(answer.neighbours),
  recommendations: (answer) =>
    $('result').replaceChildren(table(['item', 'title', 'score'], answer.items.map((item) => [item.item, item.title || '', item.score.toFixed(3)]))),
};

function showClasses(classes) {
  if (classes.length > 0) {
    $('top-class').textContent = classes[0].label;
    $('top-probability').textContent = `(${percent(classes[0].probability)})`;
    $('top').hidden = false;
  }
  $('result').replaceChildren(...classes.map((score) => {
    const row = document.createElement('div');
    row.className = 'bar';
    row.dataset.label = score.label;
    const label = Object.assign(document.createElement('span'), { textContent: score.label });
    const track = Object.assign(document.createElement('span'), { className: 'track' });
    const fill = Object.assign(document.createElement('span'), { className: 'fill' });
    fill.style.display = 'block';
    fill.style.width = `${(100 * score.probability).toFixed(1)}%`;
    track.append(fill);
    const value = Object.assign(document.createElement('span'), { className: 'value', textContent: percent(score.probability) });
    row.append(label, track, value);
    return row;
  }));
}

function showNeighbours(neighbours) {
  $('result').replaceChildren(Object.assign(document.createElement('div'), { className: 'cards' }));
  const cards = $('result').firstChild;
  for (const neighbour of neighbours) {
    const figure = document.createElement('figure');
    if (neighbour.image_url) {
      const img = Object.assign(document.createElement('img'), { alt: neighbour.id });
      figure.append(img);
      showStoredImage(img, neighbour.image_url);
    }
    const caption = document.createElement('figcaption');
    caption.textContent = `${neighbour.label || neighbour.id} (${neighbour.similarity.toFixed(3)})`;
    figure.append(caption);
    cards.append(figure);
  }
}

// An <img> cannot send the API key: with a key, the picture is fetched with it and shown from a blob.
async function showStoredImage(img, url) {
  if (!page.apiKey) {
    img.src = url;
    return;
  }
  const response = await fetch(url, { headers: { 'X-API-Key': page.apiKey } });
  if (response.ok) img.src = URL.createObjectURL(await response.blob());
}

// The overlay canvas has the displayed image's pixel size; heatmaps and boxes are given relative to the image.
function overlayContext() {
  const picture = $('picture');
  const canvas = $('overlay');
  canvas.width = picture.clientWidth;
  canvas.height = picture.clientHeight;
  return canvas.getContext('2d');
}

function clearOverlay() {
  const canvas = $('overlay');
  canvas.getContext('2d').clearRect(0, 0, canvas.width, canvas.height);
}

function imageLoaded() {
  const picture = $('picture');
  return picture.complete ? Promise.resolve() : new Promise((resolve) => { picture.onload = resolve; });
}

// A width x height map of values in [0, 1], row-major, stretched over the image (smoothly: the browser interpolates
// the cells). Colours run blue, cyan, green, yellow to red as the xray recipe draws its heatmaps
// (ClassActivationMaps.HeatColour); the opacity grows with the value, so where the map is 0 the image shows as it is.
function drawHeatmap(width, height, heat) {
  const cells = document.createElement('canvas');
  cells.width = width;
  cells.height = height;
  const context = cells.getContext('2d');
  const image = context.createImageData(width, height);
  const band = (level, centre) => Math.max(0, Math.min(1, 1.5 - Math.abs(4 * level - centre)));
  for (let i = 0; i < width * height; i++) {
    const value = Math.max(0, Math.min(1, heat[i]));
    image.data.set([255 * band(value, 3), 255 * band(value, 2), 255 * band(value, 1), Math.round(190 * value)], 4 * i);
  }
  context.putImageData(image, 0, 0);
  const overlay = overlayContext();
  overlay.imageSmoothingEnabled = true;
  overlay.drawImage(cells, 0, 0, overlay.canvas.width, overlay.canvas.height);
}

// Boxes with corners as fractions of the image's width and height, labelled with their score.
function drawBoxes(boxes) {
  const overlay = overlayContext();
  const { width, height } = overlay.canvas;
  overlay.lineWidth = 2;
  overlay.font = '13px sans-serif';
  for (const box of boxes) {
    const x = box.left * width, y = box.top * height;
    overlay.strokeStyle = '#ffeb3b';
    overlay.strokeRect(x, y, (box.right - box.left) * width, (box.bottom - box.top) * height);
    const text = `${box.label} ${percent(box.score)}`;
    overlay.fillStyle = 'rgba(0, 0, 0, 0.6)';
    overlay.fillRect(x, Math.max(0, y - 16), overlay.measureText(text).width + 6, 16);
    overlay.fillStyle = '#ffeb3b';
    overlay.fillText(text, x + 3, Math.max(12, y - 4));
  }
}

function table(headings, rows) {
  const element = document.createElement('table');
  element.append(row('th', headings), ...rows.map((cells) => row('td', cells)));
  return element;
  function row(tag, cells) {
    const tr = document.createElement('tr');
    tr.append(...cells.map((cell) => Object.assign(document.createElement(tag), { textContent: `${cell}` })));
    return tr;
  }
}

function percent(value) {
  return `${(100 * value).toFixed(1)}%`;
}

$('file').addEventListener('change', (event) => predictImage(event.target.files[0]));
const drop = $('drop');
drop.addEventListener('dragover', (event) => { event.preventDefault(); drop.classList.add('over'); });
drop.addEventListener('dragleave', () => drop.classList.remove('over'));
drop.addEventListener('drop', (event) => {
  event.preventDefault();
  drop.classList.remove('over');
  predictImage(event.dataTransfer.files[0]);
});
$('user-form').addEventListener('submit', (event) => { event.preventDefault(); predictUser($('user').value); });
$('key-form').addEventListener('submit', (event) => {
  event.preventDefault();
  page.apiKey = $('api-key').value.trim();
  sessionStorage.setItem('recipes-api-key', page.apiKey);
  $('key-form').hidden = true;
  loadConfig();
});
loadConfig();
