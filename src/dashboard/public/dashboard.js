// @ts-check
/**
 * The optimizer's dashboard (GET /dashboard). It reads:
 * - /dashboard/manifest.json: whether an admin key is needed, whether /admin/stats exists;
 * - GET /health every few seconds (the tree, the backends and their breakers, sessions);
 * - GET /admin/stats when the optimizer serves it (totals since start, by agent, by backend,
 *   per-minute timeline, gauges, cost); without it, every number comes from the event stream;
 * - GET /admin/events (SSE, read with fetch so that it can carry the admin key) for live updates;
 * - GET /admin/alerts and GET /admin/machines (statecharts; each backend's breaker highlighted live).
 * The admin key, when the optimizer has one, is asked for once and kept in sessionStorage.
 */
import { area, bars, donut, shortNumber, timeline } from './charts.js';
import { drawStatechart } from './statechart.js';

/**
 * @typedef {{ type: string, at: number, [field: string]: unknown }} BusEvent
 * @typedef {{ requests: number, cacheHits: number, cacheMisses: number, dedupeJoins: number, rateLimitQueued: number,
 *   rateLimitRejected: number, upstreamErrors: number, failovers: number, tokensIn: number, tokensOut: number,
 *   costUsd: number, costSavedUsd: number }} Counters
 * @typedef {{ startedAt: number, now: number, totals: Counters, byAgent: Record<string, Counters>, byBackend: Record<string, Counters>,
 *   timeline: ({ minute: number } & Counters)[], gauges: { queueDepth: number, sessions: number, inFlight: number, dlqSize: number } }} Stats
 * @typedef {{ state: string, backendId: string }} BreakerHealth
 * @typedef {{ id: string, state: string, inFlight: number, succeeded: number, failed: number, latencyEwmaMs: number | null, restarts: number, breaker?: BreakerHealth }} BackendHealth
 * @typedef {{ id: string, restarts: number, children?: TreeNode[] }} TreeNode
 * @typedef {{ status: string, uptimeMs: number, inFlight: number, sessions: number, tree: TreeNode[], backends: BackendHealth[], problems: string[] }} Health
 * @typedef {{ key: string, rule: string, kind: string, message: string, raisedAt: number }} Alert
 * @typedef {import('./statechart.js').Statechart} Statechart
 */

const KEY_STORAGE = 'optimizer.adminKey';
const TOPICS = ['request.completed', 'cache.*', 'dedupe.joined', 'ratelimit.*', 'backend.*', 'breaker.*', 'dlq.*', 'actor.*', 'supervisor.*', 'alert.*'];
const REFRESH_MS = 5000;
/** After calls finish, /admin/stats is read again this soon (ms), so the breakdowns stay live. */
const STATS_SOON_MS = 1000;
const RATE_SECONDS = 120;
const TIMELINE_MINUTES = 30;
const EVENTS_SHOWN = 100;

/** @returns {Counters} */
function zero() {
  return { requests: 0, cacheHits: 0, cacheMisses: 0, dedupeJoins: 0, rateLimitQueued: 0, rateLimitRejected: 0, upstreamErrors: 0, failovers: 0, tokensIn: 0, tokensOut: 0, costUsd: 0, costSavedUsd: 0 };
}

const state = {
  /** @type {{ adminKeyRequired: boolean, endpoints: { stats: boolean } }} */
  manifest: { adminKeyRequired: false, endpoints: { stats: false } },
  /** @type {string | null} */
  key: sessionStorage.getItem(KEY_STORAGE),
  /** @type {Stats | null} */
  stats: null,
  /** What the event stream counted since the page opened (or since the last /admin/stats answer). */
  live: zero(),
  /** @type {Map<string, { requests: number, cacheHits: number, errors: number }>} */
  byAgent: new Map(),
  /** @type {Map<string, { requests: number, failures: number }>} */
  byBackend: new Map(),
  /** @type {Map<number, { requests: number, cacheHits: number, cacheMisses: number }>} */
  minutes: new Map(),
  /** @type {Map<number, { requests: number, cacheHits: number, cacheMisses: number }>} per minute, what the last /admin/stats answer has not counted */
  freshMinutes: new Map(),
  /** @type {ReturnType<typeof setTimeout> | undefined} a stats refresh soon after calls finish */
  statsSoon: undefined,
  /** @type {Map<number, number>} calls finished per second (browser clock) */
  seconds: new Map(),
  /** @type {Health | null} */
  health: null,
  /** @type {Map<string, string>} backend → its breaker's state */
  breakers: new Map(),
  /** @type {Record<string, { mermaid: string, chart: Statechart }> | null} */
  machines: null,
  /** @type {Alert[]} */
  alerts: [],
  dlqSize: /** @type {number | null} */ (null),
  dropped: 0,
  streaming: false,
};

/** @param {string} id @returns {HTMLElement} */
function $(id) {
  const element = document.getElementById(id);
  if (!element) throw new Error(`#${id} is missing from the page`);
  return element;
}

/** @param {string} id @returns {SVGSVGElement} */
function svg(id) {
  return /** @type {SVGSVGElement} */ (/** @type {unknown} */ ($(id)));
}

/** @param {string} id @param {string} text */
function setText(id, text) {
  const element = $(id);
  if (element.textContent !== text) element.textContent = text;
}

/** @returns {Record<string, string>} */
function authHeaders() {
  return state.key ? { authorization: `Bearer ${state.key}` } : {};
}

class Forbidden extends Error {}

/**
 * GET a JSON admin (or public) endpoint.
 * @param {string} path
 * @returns {Promise<any>}
 */
async function getJson(path) {
  const response = await fetch(path, { headers: authHeaders(), cache: 'no-store' });
  if (response.status === 403 || response.status === 401) throw new Forbidden(path);
  if (!response.ok && response.status !== 503) throw new Error(`${path} answered ${response.status}`);
  return response.json();
}

// ── the admin key ─────────────────────────────────────────────────────────────

/** @param {string} message */
function askForKey(message) {
  const form = /** @type {HTMLFormElement} */ ($('key-form'));
  form.hidden = false;
  setText('key-error', message);
}

function wireKeyForm() {
  const form = /** @type {HTMLFormElement} */ ($('key-form'));
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const input = /** @type {HTMLInputElement} */ ($('admin-key'));
    const key = input.value.trim();
    if (key === '') return;
    state.key = key;
    sessionStorage.setItem(KEY_STORAGE, key);
    input.value = '';
    form.hidden = true;
    void startAdmin();
  });
}

// ── events ────────────────────────────────────────────────────────────────────

/** @param {unknown} value */
const str = (value) => (typeof value === 'string' ? value : String(value ?? ''));

/** Counts one bus event into the live aggregates. @param {BusEvent} event */
function count(event) {
  // Events the last /admin/stats answer already counted are not counted twice.
  const counted = !state.stats || event.at > state.stats.now;
  const live = state.live;
  const minute = Math.floor(event.at / 60000) * 60000;
  const bucket = state.minutes.get(minute) ?? { requests: 0, cacheHits: 0, cacheMisses: 0 };
  state.minutes.set(minute, bucket);
  // What the last /admin/stats answer has not counted yet, per minute (laid over its timeline).
  const fresh = counted ? (state.freshMinutes.get(minute) ?? { requests: 0, cacheHits: 0, cacheMisses: 0 }) : undefined;
  if (fresh) state.freshMinutes.set(minute, fresh);
  switch (event.type) {
    case 'request.completed': {
      refreshStatsSoon();
      if (counted) live.requests++;
      bucket.requests++;
      if (fresh) fresh.requests++;
      const second = Math.floor(Date.now() / 1000);
      state.seconds.set(second, (state.seconds.get(second) ?? 0) + 1);
      const agent = state.byAgent.get(str(event.agentId)) ?? { requests: 0, cacheHits: 0, errors: 0 };
      agent.requests++;
      if (!['ok', 'cache.hit', 'dedupe.joined'].includes(str(event.outcome))) agent.errors++;
      state.byAgent.set(str(event.agentId), agent);
      break;
    }
    case 'cache.hit': {
      if (counted) live.cacheHits++;
      bucket.cacheHits++;
      if (fresh) fresh.cacheHits++;
      const agent = state.byAgent.get(str(event.agentId)) ?? { requests: 0, cacheHits: 0, errors: 0 };
      agent.cacheHits++;
      state.byAgent.set(str(event.agentId), agent);
      break;
    }
    case 'cache.miss':
      if (counted) live.cacheMisses++;
      bucket.cacheMisses++;
      if (fresh) fresh.cacheMisses++;
      break;
    case 'dedupe.joined':
      if (counted) live.dedupeJoins++;
      break;
    case 'ratelimit.queued':
      if (counted) live.rateLimitQueued++;
      break;
    case 'ratelimit.rejected':
      if (counted) live.rateLimitRejected++;
      break;
    case 'backend.succeeded':
    case 'backend.failed': {
      const backend = state.byBackend.get(str(event.backend)) ?? { requests: 0, failures: 0 };
      backend.requests++;
      if (event.type === 'backend.failed') {
        backend.failures++;
        if (counted) live.upstreamErrors++;
      }
      state.byBackend.set(str(event.backend), backend);
      break;
    }
    case 'backend.failover':
      if (counted) live.failovers++;
      break;
    case 'dlq.enqueued':
      if (state.dlqSize !== null) state.dlqSize++;
      break;
    case 'breaker.opened':
      state.breakers.set(str(event.backendId), 'open');
      break;
    case 'breaker.half_opened':
      state.breakers.set(str(event.backendId), 'half_open');
      break;
    case 'breaker.closed':
      state.breakers.set(str(event.backendId), 'closed');
      break;
    case 'events.dropped':
      state.dropped = Number(event.total) || state.dropped;
      break;
  }
  if (event.type.startsWith('alert.')) void refreshAlerts();
  if (event.type.startsWith('actor.') || event.type.startsWith('supervisor.')) void refreshHealth();
}

/** @param {BusEvent} event */
function showEvent(event) {
  if (event.type === 'events.subscribed') return;
  const list = $('events');
  const item = document.createElement('li');
  const time = document.createElement('span');
  time.className = 'muted';
  time.textContent = new Date(event.at).toLocaleTimeString();
  const type = document.createElement('span');
  type.className = 'type';
  type.dataset.domain = event.type.split('.')[0];
  type.textContent = event.type;
  const { type: _t, at: _a, ...rest } = event;
  const details = document.createElement('span');
  details.textContent = Object.entries(rest)
    .map(([k, v]) => `${k}=${typeof v === 'object' ? JSON.stringify(v) : String(v)}`)
    .join(' ');
  item.append(time, type, details);
  list.prepend(item);
  while (list.childElementCount > EVENTS_SHOWN) list.lastElementChild?.remove();
}

/** Parses one SSE block (`event:` / `data:` lines). @param {string} block */
function onBlock(block) {
  let data = '';
  for (const line of block.split('\n')) if (line.startsWith('data:')) data += line.slice(5).trimStart();
  if (data === '') return; // a comment (heartbeat) or `retry:`
  /** @type {BusEvent} */
  const event = JSON.parse(data);
  count(event);
  showEvent(event);
  scheduleRender();
}

/** @param {boolean} on */
function setLive(on) {
  state.streaming = on;
  const pill = $('live');
  pill.dataset.live = on ? 'on' : 'off';
  setText('live', on ? 'live' : 'live: reconnecting…');
}

/** Reads GET /admin/events with fetch (EventSource cannot send the admin key), reconnecting when it ends. */
async function streamEvents() {
  for (;;) {
    try {
      const response = await fetch(`/admin/events?topics=${encodeURIComponent(TOPICS.join(','))}`, { headers: authHeaders(), cache: 'no-store' });
      if (response.status === 403 || response.status === 401) throw new Forbidden('/admin/events');
      if (!response.ok || !response.body) throw new Error(`/admin/events answered ${response.status}`);
      setLive(true);
      const reader = response.body.pipeThrough(new TextDecoderStream()).getReader();
      let buffer = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buffer += value;
        for (let end = buffer.indexOf('\n\n'); end !== -1; end = buffer.indexOf('\n\n')) {
          onBlock(buffer.slice(0, end));
          buffer = buffer.slice(end + 2);
        }
      }
    } catch (error) {
      if (error instanceof Forbidden) {
        setLive(false);
        return askForKey(state.manifest.adminKeyRequired ? 'The admin key was refused.' : 'Admin endpoints answer loopback clients only (set admin.keyEnv to use a key).');
      }
    }
    setLive(false);
    await new Promise((resolve) => setTimeout(resolve, 2000));
  }
}

// ── polling ───────────────────────────────────────────────────────────────────

async function refreshHealth() {
  try {
    const health = /** @type {Health} */ (await getJson('/health'));
    state.health = health;
    for (const backend of health.backends) if (backend.breaker) state.breakers.set(backend.id, backend.breaker.state);
  } catch {
    state.health = null;
  }
  scheduleRender();
}

async function refreshStats() {
  if (!state.manifest.endpoints.stats) return;
  const stats = /** @type {Stats} */ (await getJson('/admin/stats'));
  state.stats = stats;
  state.live = zero();
  state.freshMinutes.clear();
  scheduleRender();
}

/** Calls finished: the breakdowns from /admin/stats follow within a second (at most one fetch a second). */
function refreshStatsSoon() {
  if (!state.manifest.endpoints.stats || state.statsSoon !== undefined) return;
  state.statsSoon = setTimeout(() => {
    state.statsSoon = undefined;
    void refreshStats().catch(() => undefined);
  }, STATS_SOON_MS);
}

async function refreshAlerts() {
  const report = await getJson('/admin/alerts').catch(() => null);
  if (report) state.alerts = report.active;
  scheduleRender();
}

async function refreshDlq() {
  if (state.stats) return;
  const page = await getJson('/admin/dlq?limit=1').catch(() => null);
  if (page && typeof page.count === 'number') state.dlqSize = page.count;
}

// ── rendering ─────────────────────────────────────────────────────────────────

let renderPending = false;
function scheduleRender() {
  if (renderPending) return;
  renderPending = true;
  setTimeout(() => {
    renderPending = false;
    render();
  }, 150);
}

/** @param {Counters} a @param {Counters} b @returns {Counters} */
function add(a, b) {
  const out = zero();
  for (const key of /** @type {(keyof Counters)[]} */ (Object.keys(out))) out[key] = (a[key] ?? 0) + (b[key] ?? 0);
  return out;
}

/** @param {number} usd */
const dollars = (usd) => (usd >= 100 ? `$${usd.toFixed(0)}` : `$${usd.toFixed(usd >= 1 ? 2 : 4)}`);

function renderOverview() {
  const totals = state.stats ? add(state.stats.totals, state.live) : state.live;
  setText('scope', state.stats ? `since ${new Date(state.stats.startedAt).toLocaleString()}` : 'since this page opened (from the event stream)');
  setText('calls', shortNumber(totals.requests));
  const lookups = totals.cacheHits + totals.cacheMisses;
  setText('hit-rate', lookups === 0 ? '–' : `${((totals.cacheHits / lookups) * 100).toFixed(1)}%`);
  setText('dedupe', shortNumber(totals.dedupeJoins));
  setText('errors', shortNumber(totals.upstreamErrors));
  setText('failovers', shortNumber(totals.failovers));
  setText('rejected', shortNumber(totals.rateLimitRejected));
  setText('cost-saved', state.stats ? dollars(totals.costSavedUsd) : '–');
  setText('cost', state.stats ? dollars(totals.costUsd) : '–');
  setText('tokens', state.stats ? `${shortNumber(totals.tokensIn)} / ${shortNumber(totals.tokensOut)}` : '–');
  const upstream = Math.max(0, totals.requests - totals.cacheHits - totals.dedupeJoins);
  donut(
    svg('hit-donut'),
    [
      { label: 'cache hits', value: totals.cacheHits, className: 'hits' },
      { label: 'dedupe joins', value: totals.dedupeJoins, className: 'dedupe' },
      { label: 'upstream calls', value: upstream, className: 'upstream' },
    ],
    shortNumber(totals.requests),
  );
  const now = Math.floor(Date.now() / 1000);
  /** @type {number[]} */
  const perSecond = [];
  for (let s = now - RATE_SECONDS + 1; s <= now; s++) perSecond.push(state.seconds.get(s) ?? 0);
  for (const s of state.seconds.keys()) if (s <= now - RATE_SECONDS) state.seconds.delete(s);
  area(svg('rate-chart'), perSecond, 'calls/s');
}

function renderTimeline() {
  /** @type {{ minute: number, requests: number, cacheHits: number, cacheMisses: number }[]} */
  let points;
  if (state.stats && state.stats.timeline.length > 0) {
    // The stats' minutes, with what the event stream counted since that answer laid over them.
    const byMinute = new Map(state.stats.timeline.map((p) => [p.minute, { minute: p.minute, requests: p.requests, cacheHits: p.cacheHits, cacheMisses: p.cacheMisses }]));
    for (const [minute, fresh] of state.freshMinutes) {
      const point = byMinute.get(minute) ?? { minute, requests: 0, cacheHits: 0, cacheMisses: 0 };
      point.requests += fresh.requests;
      point.cacheHits += fresh.cacheHits;
      point.cacheMisses += fresh.cacheMisses;
      byMinute.set(minute, point);
    }
    points = [...byMinute.values()].sort((a, b) => a.minute - b.minute).slice(-TIMELINE_MINUTES);
  } else {
    const minutes = [...state.minutes.keys()].sort((a, b) => a - b);
    const last = minutes.at(-1);
    points = [];
    if (last !== undefined) {
      const first = Math.max(/** @type {number} */ (minutes[0]), last - (TIMELINE_MINUTES - 1) * 60000);
      for (let m = first; m <= last; m += 60000) points.push({ minute: m, ...(state.minutes.get(m) ?? { requests: 0, cacheHits: 0, cacheMisses: 0 }) });
    }
  }
  timeline(svg('timeline'), points);
}

function renderBreakdowns() {
  const agents = state.stats
    ? Object.entries(state.stats.byAgent).map(([label, c]) => ({ label, total: c.requests, part: c.cacheHits, partLabel: 'hits' }))
    : [...state.byAgent].map(([label, c]) => ({ label, total: c.requests, part: c.cacheHits, partLabel: 'hits' }));
  bars(svg('by-agent'), agents.sort((a, b) => b.total - a.total).slice(0, 12), 'bar-hits');
  const backends = state.stats
    ? Object.entries(state.stats.byBackend).map(([label, c]) => ({ label, total: c.requests, part: c.upstreamErrors, partLabel: 'failed' }))
    : [...state.byBackend].map(([label, c]) => ({ label, total: c.requests, part: c.failures, partLabel: 'failed' }));
  bars(svg('by-backend'), backends.sort((a, b) => b.total - a.total).slice(0, 12), 'bar-fail');
}

/** @param {TreeNode[]} nodes @returns {number} */
function restarts(nodes) {
  return nodes.reduce((sum, node) => sum + node.restarts + restarts(node.children ?? []), 0);
}

/** @param {string} text @param {string} value */
function stateBadge(text, value) {
  const span = document.createElement('span');
  span.className = 'state';
  span.dataset.state = value;
  span.textContent = text;
  return span;
}

function renderHealth() {
  const health = state.health;
  const pill = $('status');
  pill.dataset.status = health?.status ?? 'down';
  setText('status', health ? health.status : 'unreachable');
  if (!health) return;
  setText('uptime', `up ${Math.round(health.uptimeMs / 60000)} min`);
  setText('sessions', String(state.stats?.gauges.sessions ?? health.sessions));
  setText('in-flight', String(health.inFlight));
  setText('queue-depth', state.stats ? String(state.stats.gauges.queueDepth) : '–');
  setText('restarts', String(restarts(health.tree)));
  const dlq = state.stats ? state.stats.gauges.dlqSize : state.dlqSize;
  setText('dlq-size', dlq === null ? '–' : String(dlq));
  const rows = health.backends.map((b) => {
    const row = document.createElement('tr');
    const cells = [b.id, '', '', String(b.inFlight), String(b.succeeded), String(b.failed), b.latencyEwmaMs === null ? '–' : `${Math.round(b.latencyEwmaMs)} ms`, String(b.restarts)];
    for (const text of cells) {
      const cell = document.createElement('td');
      cell.textContent = text;
      row.append(cell);
    }
    row.children[1]?.append(stateBadge(b.state, b.state));
    const breaker = state.breakers.get(b.id) ?? b.breaker?.state;
    if (breaker) row.children[2]?.append(stateBadge(breaker.replace('_', '-'), breaker));
    row.dataset.backend = b.id;
    return row;
  });
  $('backends').querySelector('tbody')?.replaceChildren(...rows);
  $('problems').replaceChildren(
    ...health.problems.map((p) => {
      const li = document.createElement('li');
      li.textContent = p;
      return li;
    }),
  );
}

/** The breaker statechart of each backend, its current state highlighted (redrawn only when a state changes). */
let drawnBreakers = '';
function renderMachines() {
  const machines = state.machines;
  const health = state.health;
  if (!machines || !health) return;
  const breakerChart = machines.breaker?.chart;
  const signature = JSON.stringify([...state.breakers]);
  if (breakerChart && signature !== drawnBreakers) {
    drawnBreakers = signature;
    const figures = health.backends
      .filter((b) => state.breakers.has(b.id))
      .map((b) => {
        const figure = document.createElement('figure');
        figure.className = 'statechart';
        figure.dataset.backend = b.id;
        const current = /** @type {string} */ (state.breakers.get(b.id));
        figure.dataset.state = current;
        const title = document.createElement('h3');
        title.textContent = `breaker of ${b.id}: ${current.replace('_', '-')}`;
        figure.append(title, drawStatechart(breakerChart, current));
        return figure;
      });
    $('breakers').replaceChildren(...figures);
  }
  const others = $('machines');
  if (others.childElementCount === 0) {
    for (const [id, { chart, mermaid }] of Object.entries(machines)) {
      if (id === 'breaker') continue;
      const figure = document.createElement('figure');
      figure.className = 'statechart';
      const title = document.createElement('h3');
      title.textContent = id;
      const text = document.createElement('pre');
      text.className = 'mermaid';
      text.textContent = mermaid;
      const details = document.createElement('details');
      const summary = document.createElement('summary');
      summary.textContent = 'Mermaid';
      details.append(summary, text);
      figure.append(title, drawStatechart(chart, undefined), details);
      others.append(figure);
    }
  }
}

function renderAlerts() {
  $('alerts').replaceChildren(
    ...state.alerts.map((alert) => {
      const div = document.createElement('div');
      div.className = 'alert';
      div.dataset.alert = alert.key;
      const name = document.createElement('b');
      name.textContent = alert.key;
      const message = document.createElement('span');
      message.textContent = `${alert.message} (since ${new Date(alert.raisedAt).toLocaleTimeString()})`;
      div.append(name, message);
      return div;
    }),
  );
  setText('dropped', state.dropped > 0 ? `(${state.dropped} events dropped: this page read too slowly)` : '');
}

function render() {
  renderOverview();
  renderTimeline();
  renderBreakdowns();
  renderHealth();
  renderMachines();
  renderAlerts();
}

// ── start ─────────────────────────────────────────────────────────────────────

let adminStarted = false;
async function startAdmin() {
  try {
    state.machines = await getJson('/admin/machines');
    await Promise.all([refreshStats(), refreshAlerts(), refreshDlq()]);
  } catch (error) {
    if (error instanceof Forbidden) return askForKey(state.manifest.adminKeyRequired ? 'The admin key was refused.' : 'Admin endpoints answer loopback clients only (set admin.keyEnv to use a key).');
    throw error;
  }
  scheduleRender();
  if (adminStarted) return;
  adminStarted = true;
  void streamEvents();
  setInterval(() => void refreshStats().catch(() => undefined), REFRESH_MS);
}

async function main() {
  wireKeyForm();
  state.manifest = await getJson('/dashboard/manifest.json');
  await refreshHealth();
  setInterval(() => void refreshHealth(), REFRESH_MS);
  setInterval(scheduleRender, 1000); // the live rate chart moves with time
  if (state.manifest.adminKeyRequired && !state.key) askForKey('');
  else await startAdmin();
}

void main();
