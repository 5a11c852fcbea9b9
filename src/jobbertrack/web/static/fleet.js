// Keeps the Queues and Workers pages live: every 2 s (and at once when
// live.js hears an event, or an action button did something) it asks the
// JSON API for the queues (/api/queues, /api/throughput) or the workers
// (/api/workers) and redraws the table's rows in place, keyed by queue name
// or worker id: a row's cells change, new rows come in sorted, gone ones
// leave.  Names and ids come from users: they are written with textContent
// and set as attributes, never parsed as HTML.  One request at a time; none
// while the tab is hidden.
(function () {
  "use strict";
  var body = document.body;
  var base = body.dataset.base || "";
  var page = body.dataset.page;
  if (page !== "queues" && page !== "workers") return;
  var table = document.getElementById(page === "queues" ? "jt-queues" : "jt-workers");
  var empty = document.getElementById(page === "queues" ? "jt-queues-empty" : "jt-workers-empty");
  if (!table || !empty) return;
  var tbody = table.querySelector("tbody");
  var canWrite = table.dataset.canWrite === "yes";
  // EVERY_MS: the steady poll.  After an event the page polls within
  // SOON_MS, but at most once per EVENTS_MS (a busy queue sends thousands
  // of events a second); after a button of this page, within SOON_MS.
  var EVERY_MS = 2000, SOON_MS = 150, EVENTS_MS = 1000;
  var busy = false, again = false, timer = null, due = 0, last = 0;

  // ---- text, as web/_format.py writes it ----
  function secondsText(s) {
    if (s === null || s === undefined) return "";
    if (s < 10) return s.toFixed(1) + " s";
    if (s < 120) return Math.round(s) + " s";
    if (s < 7200) return Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  }
  function relative(iso) {
    if (!iso) return "";
    var s = (Date.now() - Date.parse(iso)) / 1000, future = s < 0, t;
    s = Math.abs(s);
    if (s < 60) t = Math.floor(s) + " s";
    else if (s < 3600) t = Math.floor(s / 60) + " min";
    else if (s < 86400) t = Math.floor(s / 3600) + " h";
    else t = Math.floor(s / 86400) + " d";
    return future ? "in " + t : t + " ago";
  }
  function absolute(iso) {
    var d = new Date(iso);
    return isNaN(d.getTime()) ? "" : d.toISOString().slice(0, 19).replace("T", " ") + " UTC";
  }

  // ---- DOM helpers: text and attributes only ----
  function el(tag, attrs, text) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, attrs[k]); });
    if (text !== undefined) node.textContent = String(text);
    return node;
  }
  function setText(node, text) {
    text = String(text);
    if (node.textContent !== text) { node.textContent = text; node.classList.remove("flash"); void node.offsetWidth; node.classList.add("flash"); }
  }
  function cell(row, field) { return row.querySelector('[data-field="' + field + '"]'); }
  function timeNode(iso) {
    if (!iso) return document.createTextNode("");
    return el("time", { datetime: iso, title: absolute(iso) }, relative(iso));
  }
  function jobHref(id) { return base + "/jobs/" + encodeURIComponent(id); }
  function queueApi(name) { return base + "/api/queues/" + encodeURIComponent(name); }

  // ---- the Queues page ----
  function queueRow(q) {
    var row = el("tr", { "data-queue": q.name });
    var name = el("td", { "class": "qname", "data-field": "name", title: q.name }, q.name);
    row.appendChild(name);
    row.appendChild(el("td", { "data-field": "paused" }));
    ["waiting", "delayed", "running", "oldest_wait_s", "workers", "throughput"].forEach(function (f) {
      row.appendChild(el("td", { "class": "num", "data-field": f }));
    });
    if (canWrite) {
      var holder = el("td", { "class": "toggle", "data-api": queueApi(q.name), "data-queue": q.name });
      holder.appendChild(el("button", { type: "button", "class": "act", "data-action": "pause" }, "Pause"));
      row.appendChild(holder);
    }
    return row;
  }
  function fillQueue(row, q, seen) {
    row.classList.toggle("paused", !!q.paused);
    var state = cell(row, "paused"), badge = state.querySelector(".badge");
    var word = q.paused ? "paused" : "active";
    if (!badge || badge.textContent !== word) {
      state.replaceChildren(el("span", { "class": "badge q-" + word }, word));
    }
    setText(cell(row, "waiting"), q.waiting);
    setText(cell(row, "delayed"), q.delayed);
    setText(cell(row, "running"), q.running);
    setText(cell(row, "oldest_wait_s"), q.waiting ? secondsText(q.oldest_wait_s) : "—");
    setText(cell(row, "workers"), q.workers);
    var done = (seen && seen.finished) || 0, failed = (seen && seen.failed) || 0;
    var through = cell(row, "throughput");
    var text = done + " finished" + (failed ? " · " + failed + " failed" : "");
    if (through.textContent !== text) {
      through.replaceChildren(document.createTextNode(done + " finished"));
      if (failed) {
        through.appendChild(document.createTextNode(" · "));
        through.appendChild(el("span", { "class": "failed" }, failed + " failed"));
      }
    }
    var button = row.querySelector("button[data-action]");
    if (button && !button.disabled) {   // not while its own call is on its way
      var action = q.paused ? "resume" : "pause";
      if (button.dataset.action !== action) {
        button.dataset.action = action;
        button.className = "act act-" + action;
        button.textContent = q.paused ? "Resume" : "Pause";
      }
    }
  }

  // ---- the Workers page ----
  function workerRow(w) {
    var row = el("tr", { "data-worker": w.id });
    row.appendChild(el("td", { "class": "wid", "data-field": "id", title: w.id }, w.id));
    row.appendChild(el("td", { "data-field": "host" }));
    row.appendChild(el("td", { "data-field": "queues" }));
    row.appendChild(el("td", { "class": "jobs-now", "data-field": "jobs" }));
    row.appendChild(el("td", { "class": "when", "data-field": "started_at" }));
    row.appendChild(el("td", { "class": "num", "data-field": "processed" }));
    row.appendChild(el("td", { "class": "num", "data-field": "failed" }));
    row.appendChild(el("td", { "class": "when", "data-field": "last_seen" }));
    return row;
  }
  function fillTime(node, iso) {
    var t = node.querySelector("time");
    if (!t || t.getAttribute("datetime") !== iso) node.replaceChildren(timeNode(iso));
    else t.textContent = relative(iso);
  }
  function fillWorker(row, w) {
    setText(cell(row, "host"), w.host + " · " + w.pid);
    var queues = (w.queues || []).join(", "), q = cell(row, "queues");
    setText(q, queues);
    q.title = queues;
    var jobs = w.jobs || [], cellJobs = cell(row, "jobs");
    var shown = Array.from(cellJobs.querySelectorAll("a")).map(function (a) { return a.textContent; });
    var note = jobs.length + "/" + w.concurrency;
    var noteNode = cellJobs.querySelector(".note");
    if (shown.join("\n") !== jobs.join("\n") || !noteNode || noteNode.textContent !== note) {
      var parts = [el("span", { "class": "note", title: "jobs running now, of its concurrency" }, note)];
      jobs.forEach(function (id) {
        parts.push(document.createTextNode(" "));
        parts.push(el("a", { "class": "id", href: jobHref(id), title: id }, id));
      });
      if (!jobs.length) { parts.push(document.createTextNode(" ")); parts.push(el("span", { "class": "empty" }, "idle")); }
      cellJobs.replaceChildren.apply(cellJobs, parts);
    }
    fillTime(cell(row, "started_at"), w.started_at);
    setText(cell(row, "processed"), w.processed);
    setText(cell(row, "failed"), w.failed);
    fillTime(cell(row, "last_seen"), w.last_seen);
  }

  // The rows of `items`, in their order: kept rows are filled in place.
  function redraw(items, key, attr, make, fill) {
    var mine = new Map();
    tbody.querySelectorAll("tr").forEach(function (tr) { mine.set(tr.getAttribute(attr), tr); });
    var wanted = new Set();
    items.forEach(function (item, i) {
      var id = String(item[key]);
      wanted.add(id);
      var row = mine.get(id);
      if (!row) row = make(item);
      fill(row, item);
      if (tbody.children[i] !== row) tbody.insertBefore(row, tbody.children[i] || null);
    });
    mine.forEach(function (row, id) { if (!wanted.has(id)) row.remove(); });
    table.hidden = items.length === 0;
    empty.hidden = items.length !== 0;
  }

  function getJSON(path) {
    return fetch(base + path, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) {
        if (r.status === 401) { window.location.reload(); throw new Error("logged out"); }   // shows the login page
        if (!r.ok) throw new Error("HTTP " + r.status);
        return r.json();
      });
  }
  function poll() {
    if (busy) { again = true; return Promise.resolve(); }
    busy = true;
    last = Date.now();
    var done;
    if (page === "queues") {
      done = Promise.all([getJSON("/api/queues"), getJSON("/api/throughput")]).then(function (r) {
        var seen = r[1].queues || {};
        redraw(r[0].queues, "name", "data-queue", queueRow, function (row, q) {
          fillQueue(row, q, Object.prototype.hasOwnProperty.call(seen, q.name) ? seen[q.name] : null);
        });
        var since = document.getElementById("jt-throughput-since");
        if (since) since.textContent = absolute(r[1].since);
      });
    } else {
      done = getJSON("/api/workers").then(function (r) { redraw(r.workers, "id", "data-worker", workerRow, fillWorker); });
    }
    return done.catch(function () { /* the next poll tries again */ }).then(function () {
      busy = false;
      if (again) { again = false; soon(true); }
    });
  }
  function soon(urgent) {
    var wait = urgent === true ? SOON_MS : Math.max(SOON_MS, last + EVENTS_MS - Date.now());
    if (timer && due <= Date.now() + wait) return;   // one is due sooner already
    clearTimeout(timer);
    due = Date.now() + wait;
    timer = setTimeout(function () { timer = null; poll(); }, wait);
  }

  document.addEventListener("jt:fleet", soon);   // live.js: an event, a reconnect
  document.addEventListener("jt:changed", function () { soon(true); });   // actions.js: a button did something
  document.addEventListener("visibilitychange", function () { if (!document.hidden) soon(true); });
  setInterval(function () { if (!document.hidden) poll(); }, EVERY_MS);
})();
