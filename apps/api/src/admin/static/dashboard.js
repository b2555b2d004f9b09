// The farm's operations dashboard: vanilla JS, no build step. It polls the admin API (same origin; the browser
// resends the admin credential it was asked for) and renders with DOM calls only — never innerHTML, since job
// fields (prompts, errors) come from users. A classic script (served as is: tsc does not compile static/).
/* global document, Node, fetch, setTimeout, clearTimeout, confirm */
'use strict';

const OVERVIEW_EVERY_MS = 1500;
const DETAIL_EVERY_MS = 2000;
const THUMBNAILS_EVERY_MS = 8000;
const TERMINAL = new Set(['done', 'failed', 'cancelled']);
const STAGE_ORDER = ['analyze', 'train', 'render', 'mux'];

const ui = {
  selected: null,
  stateFilter: '',
  jobRows: new Map(),
  lastOverviewAt: 0,
  thumbnailsAt: 0,
  thumbnailsKey: '',
};

// ---------- small helpers ----------

const $ = (selector, root = document) => root.querySelector(selector);

/** Builds an element: attributes (`on*` = listeners, `dataset`, `class`), then children (strings are text). */
function h(tag, attrs = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === undefined || value === null || value === false) continue;
    if (key === 'dataset') Object.assign(el.dataset, value);
    else if (key.startsWith('on')) el.addEventListener(key.slice(2), value);
    else if (key === 'class') el.className = value;
    else el.setAttribute(key, value === true ? '' : String(value));
  }
  for (const child of children.flat()) {
    if (child === undefined || child === null || child === false) continue;
    el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return el;
}

const SVG_NS = 'http://www.w3.org/2000/svg';
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG_NS, tag);
  for (const [key, value] of Object.entries(attrs)) el.setAttribute(key, String(value));
  for (const child of children) el.append(child instanceof Node ? child : document.createTextNode(String(child)));
  return el;
}

async function api(path, options = {}) {
  const res = await fetch(`/admin/api${path}`, {
    ...options,
    headers: { accept: 'application/json', ...(options.body ? { 'content-type': 'application/json' } : {}) },
  });
  const body = await res.json().catch(() => ({}));
  if (!res.ok) throw new Error(body.message || `${res.status} ${res.statusText}`);
  return body;
}

function duration(seconds) {
  if (seconds === null || seconds === undefined || !Number.isFinite(seconds)) return '–';
  const s = Math.max(0, Math.round(seconds));
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m ${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h ${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

function ago(iso, nowMs = Date.now()) {
  return iso ? `${duration((nowMs - Date.parse(iso)) / 1000)} ago` : '–';
}

const shortId = (id) => id.slice(0, 8);
const badge = (text, kind = text) => h('span', { class: `badge ${kind}` }, text);

let toastTimer;
function toast(message, isError = false) {
  const el = $('#toast');
  el.textContent = message;
  el.className = `toast${isError ? ' error' : ''}`;
  el.hidden = false;
  clearTimeout(toastTimer);
  toastTimer = setTimeout(() => (el.hidden = true), 4000);
}

/** Runs an operator action, then refreshes at once so the result shows without waiting for the next poll. */
async function act(what, request) {
  try {
    await request();
    toast(what);
  } catch (err) {
    toast(`${what} failed: ${err.message}`, true);
  }
  await refreshOverview();
  if (ui.selected) await refreshDetail(true);
}

const actions = {
  cancel: (id) =>
    confirm(`Cancel job ${shortId(id)}? Its running stage is aborted.`) &&
    act(`Job ${shortId(id)} cancelled`, () => api(`/jobs/${id}/cancel`, { method: 'POST' })),
  retry: (id) =>
    act(`Job ${shortId(id)} queued again as a new job`, () => api(`/jobs/${id}/retry`, { method: 'POST' })),
  priority: (id, priority) =>
    act(`Job ${shortId(id)}: priority ${priority}`, () =>
      api(`/jobs/${id}/priority`, { method: 'POST', body: JSON.stringify({ priority }) }),
    ),
  pause: (name) => act(`Queue ${name} paused`, () => api(`/queues/${name}/pause`, { method: 'POST' })),
  resume: (name) => act(`Queue ${name} resumed`, () => api(`/queues/${name}/resume`, { method: 'POST' })),
  unblock: (id) =>
    act(`Worker ${id} unblocked`, () => api(`/workers/${encodeURIComponent(id)}/unblock`, { method: 'POST' })),
};

function progressBar(state, progress, big = false) {
  const el = h(
    'div',
    { class: `progress ${state}${big ? ' big' : ''}` },
    h('div', { class: 'bar' }),
    h('span', { class: 'progress-label' }),
  );
  setProgress(el, state, progress);
  return el;
}

function setProgress(el, state, progress) {
  el.className = `progress ${state}${el.classList.contains('big') ? ' big' : ''}`;
  $('.bar', el).style.width = `${Math.max(0, Math.min(100, progress))}%`;
  $('.progress-label', el).textContent = `${progress.toFixed(1)}%`;
}

function jobButtons(job) {
  const out = [];
  if (!TERMINAL.has(job.state))
    out.push(h('button', { class: 'danger', dataset: { action: 'cancel', id: job.id } }, 'Cancel'));
  if (job.state === 'failed' || job.state === 'cancelled')
    out.push(h('button', { dataset: { action: 'retry', id: job.id } }, 'Retry'));
  return out;
}

function prioritySelect(job) {
  const select = h(
    'select',
    { dataset: { action: 'priority', id: job.id }, 'aria-label': 'Priority', disabled: TERMINAL.has(job.state) },
    ['high', 'normal', 'low'].map((p) => h('option', { value: p }, p)),
  );
  select.value = job.priority;
  return select;
}

// ---------- overview: queues, workers, jobs ----------

async function refreshOverview() {
  const status = $('#status');
  try {
    const query = ui.stateFilter ? `?state=${ui.stateFilter}` : '';
    const overview = await api(`/overview${query}`);
    const now = Date.parse(overview.now);
    renderQueues(overview.queues);
    renderWorkers(overview.workers);
    renderJobs(overview.jobs, now);
    ui.lastOverviewAt = Date.now();
    status.className = 'status';
    status.textContent = `live · updated ${new Date(now).toLocaleTimeString()}`;
  } catch (err) {
    status.className = 'status error';
    status.textContent = `not updated: ${err.message}`;
  }
}

const QUEUE_COUNTS = [
  'wait',
  'prioritized',
  'active',
  'delayed',
  'waiting-children',
  'failed',
  'cancelled',
  'completed',
];

function renderQueues(queues) {
  const rows = queues.map((q) =>
    h(
      'tr',
      { dataset: { queue: q.name } },
      h('td', {}, q.name, q.paused ? [' ', badge('paused')] : null),
      QUEUE_COUNTS.map((k) => h('td', { class: `num${q.counts[k] ? '' : ' zero'}` }, q.counts[k] ?? 0)),
      h(
        'td',
        {},
        h('button', { dataset: { action: q.paused ? 'resume' : 'pause', id: q.name } }, q.paused ? 'Resume' : 'Pause'),
      ),
    ),
  );
  $('#queues tbody').replaceChildren(...rows);
}

function renderWorkers(workers) {
  const rows = workers.map((w) =>
    h(
      'tr',
      { dataset: { workerId: w.id } },
      h('td', { class: 'mono', title: `${w.role} · ${w.queues.join(', ')}` }, w.id),
      h('td', {}, badge(w.pool, `pool-${w.pool}`)),
      h('td', { title: w.blockedReason || '' }, badge(w.state), w.blockedReason ? ` ${w.blockedReason}` : ''),
      h(
        'td',
        { class: 'mono' },
        w.current.length === 0
          ? h('span', { class: 'none' }, 'idle')
          : w.current
              .map((t) => `${shortId(t.jobId)} ${t.stage}${t.window !== undefined ? `[${t.window}]` : ''}`)
              .join(', '),
      ),
      h('td', {}, `${w.heartbeatAgeS}s`),
      h('td', {}, w.consecutiveFailures),
      h('td', {}, w.state === 'blocked' ? h('button', { dataset: { action: 'unblock', id: w.id } }, 'Unblock') : null),
    ),
  );
  $('#workers tbody').replaceChildren(...rows);
  $('#workers .empty').hidden = workers.length > 0;
}

function renderJobs(jobs, now) {
  const tbody = $('#jobs tbody');
  const seen = new Set();
  jobs.forEach((job, i) => {
    let tr = ui.jobRows.get(job.id);
    if (!tr) {
      tr = buildJobRow(job);
      ui.jobRows.set(job.id, tr);
    }
    updateJobRow(tr, job, now);
    if (tbody.children[i] !== tr) tbody.insertBefore(tr, tbody.children[i] || null);
    seen.add(job.id);
  });
  for (const [id, tr] of ui.jobRows) {
    if (!seen.has(id)) {
      tr.remove();
      ui.jobRows.delete(id);
    }
  }
  $('#jobs .empty').hidden = jobs.length > 0;
}

function buildJobRow(job) {
  return h(
    'tr',
    { dataset: { jobId: job.id } },
    h('td', { class: 'mono', title: job.id }, shortId(job.id)),
    h('td', { class: 'state-cell' }),
    h('td', { class: 'stage-cell' }),
    h('td', {}, progressBar(job.state, job.progress)),
    h('td', { class: 'eta-cell' }),
    h('td', { class: 'priority-cell' }, prioritySelect(job)),
    h('td', { class: 'created-cell' }),
    h('td', { class: 'actions-cell' }),
  );
}

function updateJobRow(tr, job, now) {
  tr.classList.toggle('selected', job.id === ui.selected);
  const stateCell = $('.state-cell', tr);
  if (stateCell.dataset.state !== job.state) {
    stateCell.dataset.state = job.state;
    stateCell.replaceChildren(badge(job.state));
    $('.actions-cell', tr).replaceChildren(...jobButtons(job));
    $('.priority-cell select', tr).disabled = TERMINAL.has(job.state);
  }
  stateCell.title = job.error || '';
  const windows = job.windows.total > 0 ? ` ${job.windows.done}/${job.windows.total}` : '';
  const iterations =
    job.stage === 'train' && job.iterations ? ` ${job.iterations.done}/${job.iterations.total} it` : '';
  $('.stage-cell', tr).textContent = job.stage ? `${job.stage}${job.stage === 'render' ? windows : iterations}` : '–';
  setProgress($('.progress', tr), job.state, job.progress);
  $('.eta-cell', tr).textContent = job.etaS === null ? '–' : duration(job.etaS);
  const select = $('.priority-cell select', tr);
  if (document.activeElement !== select) select.value = job.priority;
  const created = $('.created-cell', tr);
  created.textContent = ago(job.createdAt, now);
  created.title = job.createdAt;
}

// ---------- one job ----------

function selectJob(id) {
  ui.selected = id;
  ui.thumbnailsAt = 0;
  ui.thumbnailsKey = '';
  for (const [jobId, tr] of ui.jobRows) tr.classList.toggle('selected', jobId === id);
  const detail = $('#detail');
  detail.dataset.jobId = id;
  $('.placeholder', detail).hidden = true;
  $('.content', detail).hidden = false;
  $('#output').replaceChildren();
  $('#thumbnails').replaceChildren(h('p', { class: 'none' }, 'loading…'));
  void refreshDetail(true);
}

async function refreshDetail(force = false) {
  const id = ui.selected;
  if (!id) return;
  let detail;
  try {
    detail = await api(`/jobs/${id}`);
  } catch (err) {
    if (force) toast(`Job ${shortId(id)}: ${err.message}`, true);
    return;
  }
  if (ui.selected !== id) return;
  renderDetail(detail);
  const job = detail.job;
  const key = `${job.state}|${job.windows.done}`;
  if (force || key !== ui.thumbnailsKey || Date.now() - ui.thumbnailsAt > THUMBNAILS_EVERY_MS) {
    ui.thumbnailsKey = key;
    ui.thumbnailsAt = Date.now();
    api(`/jobs/${id}/thumbnails`).then(
      (t) => ui.selected === id && renderThumbnails(id, t),
      () => {},
    );
  }
}

function renderDetail(detail) {
  const { job } = detail;
  const root = $('#detail');
  $('.job-id', root).textContent = job.id;
  const state = $('.detail-head .state', root);
  state.className = `state badge ${job.state}`;
  state.textContent = job.state;
  const actionsEl = $('.detail-head .actions', root);
  const focused = actionsEl.contains(document.activeElement);
  if (!focused) actionsEl.replaceChildren(prioritySelect(job), ...jobButtons(job));

  const facts = [
    ['edit', job.edit],
    ['preset', `${job.preset} · ${job.device}`],
    [
      'frames',
      `${job.frames} of ${job.input.frameCount} · ${job.input.width}×${job.input.height} @ ${job.input.fps.toFixed(2)} fps`,
    ],
    ['stage', job.stage || '–'],
    ['iterations', job.iterations ? `${job.iterations.done} / ${job.iterations.total}` : '–'],
    ['ETA', job.etaS === null ? '–' : duration(job.etaS)],
    ['created', new Date(job.createdAt).toLocaleString()],
    [
      'timings',
      STAGE_ORDER.filter((k) => job.timings[k] !== undefined)
        .map((k) => `${k} ${duration(job.timings[k] / 1000)}`)
        .join(' · ') || '–',
    ],
  ];
  $('.facts', root).replaceChildren(
    ...facts.flatMap(([k, v]) => [h('dt', {}, k), h('dd', { title: v }, v)]),
    ...(job.error ? [h('dt', {}, 'error'), h('dd', { class: 'error' }, job.error)] : []),
  );
  setProgress($('.progress.big', root), job.state, job.progress);

  renderTimeline(job, detail.arr);
  renderChart($('#loss-chart'), detail.samples, 'loss', '#2f6fde');
  renderChart($('#sigma-chart'), detail.samples, 'sigma', '#c75c1b');
  renderOutput(detail.resultUrl);
  renderEvents(detail.log);
}

/** The render windows over the frames: done / running / waiting, each reference frame marked; ARR causes as tooltips. */
function renderTimeline(job, arr) {
  const el = $('#timeline');
  const windows = job.renderWindows;
  $('.windows-note').textContent = windows.length
    ? `${job.windows.done} of ${windows.length} rendered`
    : 'known once training is done';
  if (windows.length === 0) {
    el.replaceChildren(h('p', { class: 'none' }, 'No windows yet: ARR places them while the model trains.'));
    return;
  }
  const frames = Math.max(job.frames, windows[windows.length - 1].end);
  // Drawn at the element's pixel size (no viewBox stretching, so labels keep their shape).
  const W = Math.max(240, el.clientWidth || 600);
  const x = (f) => (f / frames) * W;
  const svg = s('svg', { width: W, height: 62, role: 'img' });
  windows.forEach((w, i) => {
    const done = i < job.windows.done;
    const running = !done && i === job.windows.done && job.state === 'rendering';
    const fill = done ? '#1f9d55' : running ? '#2f6fde' : '#cfd5df';
    const cause = arr?.find((a) => a.reference === w.reference)?.cause;
    const rect = s('rect', {
      x: x(w.start) + 1,
      y: 14,
      width: Math.max(2, x(w.end) - x(w.start) - 2),
      height: 26,
      rx: 3,
      fill,
    });
    rect.append(
      s(
        'title',
        {},
        `window ${w.index}: frames ${w.start}–${w.end - 1}, reference ${w.reference}${cause ? ` (${cause})` : ''}`,
      ),
    );
    svg.append(rect);
    svg.append(s('path', { d: `M${Math.max(5, x(w.reference))},12 l-5,-9 h10 z`, fill: '#1d2330' }));
    if (x(w.end) - x(w.start) > 40)
      svg.append(
        s(
          'text',
          { x: x(w.start) + 6, y: 31, 'font-size': 11, fill: done || running ? '#fff' : '#1d2330' },
          `#${w.index}${cause ? ` ${cause}` : ''}`,
        ),
      );
  });
  svg.append(s('text', { x: 0, y: 56, 'font-size': 11, fill: '#6b7385' }, 'frame 0'));
  svg.append(s('text', { x: W, y: 56, 'font-size': 11, fill: '#6b7385', 'text-anchor': 'end' }, `${frames} frames`));
  const legend = h(
    'div',
    { class: 'legend' },
    h('span', {}, h('i', { style: 'background:#1f9d55' }), 'rendered'),
    h('span', {}, h('i', { style: 'background:#2f6fde' }), 'rendering'),
    h('span', {}, h('i', { style: 'background:#cfd5df' }), 'waiting'),
    h('span', {}, '▼ reference frame (edited, then carried forward)'),
  );
  el.replaceChildren(svg, legend);
}

/** A line chart of one sample field over iterations, with its last value and range. */
function renderChart(figure, samples, field, color) {
  const points = samples.filter((p) => typeof p[field] === 'number').sort((a, b) => a.iteration - b.iteration);
  const caption = $('figcaption', figure);
  caption.replaceChildren(
    h('span', {}, field === 'loss' ? 'loss' : 'mean σ (uncertainty)'),
    h(
      'span',
      {},
      points.length
        ? `${points[points.length - 1][field].toPrecision(3)} @ it ${points[points.length - 1].iteration}`
        : 'no samples',
    ),
  );
  const W = Math.max(160, (figure.clientWidth || 300) - 14);
  const H = 110;
  const svg = s('svg', { width: W, height: H });
  if (points.length >= 2) {
    const xs = points.map((p) => p.iteration);
    const ys = points.map((p) => p[field]);
    const [x0, x1] = [Math.min(...xs), Math.max(...xs)];
    const [y0, y1] = [Math.min(...ys), Math.max(...ys)];
    const px = (v) => 4 + ((v - x0) / (x1 - x0 || 1)) * (W - 8);
    const py = (v) => H - 14 - ((v - y0) / (y1 - y0 || 1)) * (H - 24);
    svg.append(s('line', { x1: 4, y1: H - 14, x2: W - 4, y2: H - 14, stroke: '#e2e5eb' }));
    svg.append(
      s('polyline', {
        points: points.map((p) => `${px(p.iteration).toFixed(1)},${py(p[field]).toFixed(1)}`).join(' '),
        fill: 'none',
        stroke: color,
        'stroke-width': 1.6,
        'vector-effect': 'non-scaling-stroke',
      }),
    );
    svg.append(s('text', { x: 4, y: 10, 'font-size': 9, fill: '#6b7385' }, `max ${y1.toPrecision(3)}`));
    svg.append(s('text', { x: 4, y: H - 2, 'font-size': 9, fill: '#6b7385' }, `it ${x0}`));
    svg.append(
      s(
        'text',
        { x: W - 4, y: H - 2, 'font-size': 9, fill: '#6b7385', 'text-anchor': 'end' },
        `it ${x1} · min ${y0.toPrecision(3)}`,
      ),
    );
  } else {
    svg.append(
      s(
        'text',
        { x: W / 2, y: H / 2, 'font-size': 11, fill: '#9aa3b2', 'text-anchor': 'middle' },
        'no training samples yet',
      ),
    );
  }
  figure.replaceChildren(caption, svg);
}

const KIND_LABELS = {
  keyframe: 'frames',
  edit: 'edit',
  reference: 'window refs',
  original: 'original',
  propagated: 'propagated',
  sigma: 'σ maps',
  'contact-sheet': 'sheet',
};

function renderThumbnails(id, thumbnails) {
  const el = $('#thumbnails');
  if (thumbnails.length === 0) {
    el.replaceChildren(h('p', { class: 'none' }, 'No images stored for this job yet.'));
    return;
  }
  const groups = new Map();
  for (const t of thumbnails) groups.set(t.kind, [...(groups.get(t.kind) || []), t]);
  el.replaceChildren(
    ...[...groups].map(([kind, items]) =>
      h(
        'div',
        { class: 'thumb-group', dataset: { kind } },
        h('span', {}, KIND_LABELS[kind] || kind),
        items.map((t) => {
          const src = `/admin/api/jobs/${id}/file?key=${encodeURIComponent(t.key)}`;
          return h(
            'figure',
            {},
            h('a', { href: src, target: '_blank', rel: 'noopener' }, h('img', { src, alt: t.label, loading: 'lazy' })),
            h('figcaption', { title: t.label }, t.label),
          );
        }),
      ),
    ),
  );
}

function renderOutput(url) {
  const el = $('#output');
  const current = $('video', el);
  if (!url) {
    if (!el.firstChild || current)
      el.replaceChildren(h('p', { class: 'none' }, 'The edited video plays here once the job is done.'));
    return;
  }
  if (current && current.dataset.src === url) return; // keep the player (and its position) across polls
  const video = h('video', { src: url, controls: true, preload: 'metadata', dataset: { src: url } });
  const size = h('p', { class: 'output-size' }, '');
  // The output is at the source's size (up to 4K): the player scales it, the caption says what was delivered.
  video.addEventListener('loadedmetadata', () => {
    size.textContent = `${video.videoWidth}×${video.videoHeight}`;
  });
  el.replaceChildren(video, size);
}

function renderEvents(events) {
  const el = $('#events');
  const atBottom = el.scrollHeight - el.scrollTop - el.clientHeight < 8;
  el.replaceChildren(
    ...events.map((e) => {
      const where = [
        e.stage ? `${e.stage}${e.window !== undefined ? `[${e.window}]` : ''}` : null,
        e.attempt > 1 ? `#${e.attempt}` : null,
        e.source,
      ]
        .filter(Boolean)
        .join(' · ');
      const data = e.data
        ? Object.entries(e.data)
            .map(([k, v]) => `${k}=${v}`)
            .join(' ')
        : '';
      return h(
        'li',
        {},
        h('time', { datetime: e.at, title: e.at }, new Date(e.at).toLocaleTimeString()),
        h('span', { class: `lvl-${e.level}` }, e.level),
        h('span', { class: 'where', title: where }, where),
        h('span', {}, e.msg, data ? h('span', { class: 'data' }, ` ${data}`) : null),
      );
    }),
  );
  if (events.length === 0) el.replaceChildren(h('li', { class: 'none' }, 'No events yet.'));
  if (atBottom) el.scrollTop = el.scrollHeight;
}

// ---------- wiring ----------

document.addEventListener('click', (event) => {
  const button = event.target.closest('button[data-action]');
  if (button) {
    event.stopPropagation();
    const { action, id } = button.dataset;
    actions[action]?.(id);
    return;
  }
  const row = event.target.closest('#jobs tbody tr');
  if (row && !event.target.closest('select')) selectJob(row.dataset.jobId);
});

document.addEventListener('change', (event) => {
  const select = event.target.closest('select[data-action="priority"]');
  if (select) actions.priority(select.dataset.id, select.value);
});

$('#state-filter').addEventListener('change', (event) => {
  ui.stateFilter = event.target.value;
  void refreshOverview();
});

function loop(fn, everyMs) {
  const tick = async () => {
    await fn();
    setTimeout(tick, everyMs);
  };
  void tick();
}

loop(refreshOverview, OVERVIEW_EVERY_MS);
loop(() => refreshDetail(false), DETAIL_EVERY_MS);
