// Keeps the dashboard's pages live over Server-Sent Events: no timer polls
// the server.  Each event names a job; the page fetches what changed (the
// job, the counts) and redraws only that.  Text is written with
// textContent, never parsed as HTML.
(function () {
  "use strict";
  var body = document.body;
  var base = body.dataset.base || "";
  var page = body.dataset.page;
  var jobId = body.dataset.jobId || "";
  var liveEl = document.getElementById("jt-live");
  var lastId = body.dataset.cursor || "";
  var STATES = ["waiting", "running", "failed", "finished"];
  var source = null, retries = 0, down = false, timer = null;
  var pending = { jobs: new Set(), counts: false, failures: false, activity: false };

  function el(tag, cls, text) {
    var node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function api(path) {
    return fetch(base + path, { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { return r.json().then(function (j) { return { status: r.status, body: j }; }); });
  }
  function jobPath(id) { return "/jobs/" + encodeURIComponent(id); }

  // ---- formatting (mirrors _format.py) ----
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
    return iso ? new Date(Date.parse(iso)).toISOString().replace("T", " ").slice(0, 19) + " UTC" : "";
  }
  function seconds(s) {
    if (s === null || s === undefined) return "";
    if (s < 10) return s.toFixed(1) + " s";
    if (s < 120) return Math.round(s) + " s";
    if (s < 7200) return Math.floor(s / 60) + " min " + Math.round(s % 60) + " s";
    return Math.floor(s / 3600) + " h " + Math.floor((s % 3600) / 60) + " min";
  }
  function duration(job) {
    if (!job.started_at) return "";
    var end = job.ended_at ? Date.parse(job.ended_at) : Date.now();
    return seconds((end - Date.parse(job.started_at)) / 1000);
  }
  function progressText(p) {
    if (!p || typeof p !== "object") return "";
    var t = p.total === null || p.total === undefined ? String(p.current) : p.current + "/" + p.total;
    return p.message ? t + " " + p.message : t;
  }
  function percent(p) {
    if (!p || typeof p.current !== "number" || typeof p.total !== "number" || p.total <= 0) return null;
    return Math.max(0, Math.min(100, (100 * p.current) / p.total));
  }
  function shownState(job) { return job.problems && job.problems.length ? "broken" : job.state; }
  function reason(job) {
    if (job.problems && job.problems.length) {
      return job.problems.map(function (p) { return p.field + ": " + p.problem; }).join("; ");
    }
    var e = job.error;
    if (!e || typeof e !== "object") return "";
    return [e.reason, e.message].filter(function (x) { return x; }).join(": ");
  }

  // ---- building blocks (mirror templates/_macros.html) ----
  function badge(state) { var b = el("span", "badge state-" + state, state); b.dataset.field = "state"; return b; }
  function timeEl(iso) {
    if (!iso) return document.createTextNode("");
    var t = el("time", null, relative(iso));
    t.setAttribute("datetime", iso);
    t.title = absolute(iso);
    return t;
  }
  function progressEl(p) {
    var box = el("div", "progress");
    if (!p) return box;
    var pct = percent(p), bar = el("div", "bar" + (pct === null ? " unknown" : "")), fill = el("span", "fill");
    bar.setAttribute("role", "progressbar");
    if (pct !== null) { fill.style.width = pct + "%"; bar.setAttribute("aria-valuenow", String(Math.round(pct))); }
    bar.appendChild(fill);
    box.title = progressText(p);
    box.appendChild(bar);
    box.appendChild(el("span", "ptext", progressText(p)));
    return box;
  }
  function cell(cls, child) {
    var td = el("td", cls);
    if (typeof child === "string") { td.textContent = child; if (child) td.title = child; }   // the full text of a cut cell
    else if (child) td.appendChild(child);
    return td;
  }
  function link(id) { var a = el("a", null, id); a.href = base + jobPath(id); a.title = id; return a; }
  function queueText(job) {   // as queue_text in web/_format.py
    if (!job.queue) return "";
    var of = typeof job.retries === "number" ? " of " + (job.retries + 1) : "";
    return job.queue + " \u00b7 attempt " + job.attempt + of;
  }
  function nameEl(job) {
    var span = el("span", null, job.name || ""), q = queueText(job);
    if (job.name) span.title = job.name;
    if (q) { var note = el("span", "note", " " + q); note.dataset.field = "queue"; span.appendChild(note); }
    return span;
  }
  function jobRow(job) {
    var tr = el("tr", "row-" + shownState(job));
    tr.dataset.jobId = job.id;
    [cell("id", link(job.id)), cell("name", nameEl(job)), cell(null, badge(shownState(job))),
     cell("prog", job.progress ? progressEl(job.progress) : null), cell("when", timeEl(job.created_at)),
     cell("when", timeEl(job.ended_at)), cell("dur", duration(job)), cell("reason", reason(job))
    ].forEach(function (td) { tr.appendChild(td); });
    return tr;
  }
  function failureRow(job) {
    var tr = el("tr"), e = job.error || {};
    tr.dataset.jobId = job.id;
    [cell("id", link(job.id)), cell("name", job.name || ""), cell("reason", e.reason || ""),
     cell("message", e.message || ""), cell("when", timeEl(job.ended_at))
    ].forEach(function (td) { tr.appendChild(td); });
    return tr;
  }
  function rowsOf(table) {
    var map = new Map();
    table.querySelectorAll("tbody tr").forEach(function (tr) { map.set(tr.dataset.jobId, tr); });
    return map;
  }

  // ---- what each page refreshes ----
  function refreshCounts() {
    return api("/api/counts").then(function (r) {
      if (r.status !== 200) return;
      var total = 0;
      STATES.forEach(function (s) { total += r.body[s]; });
      document.querySelectorAll("[data-count]").forEach(function (node) {
        var key = node.dataset.count, value = String(key === "total" ? total : r.body[key]);
        if (node.textContent !== value) { node.textContent = value; node.classList.remove("flash"); void node.offsetWidth; node.classList.add("flash"); }
      });
    });
  }
  function refreshActivity() {
    var chart = document.getElementById("jt-chart");
    if (!chart) return Promise.resolve();
    return api("/api/activity").then(function (r) {
      if (r.status !== 200) return;
      var minutes = r.body.minutes, top = 1, peak = 0;
      minutes.forEach(function (m) { top = Math.max(top, m.transitions); peak = Math.max(peak, m.transitions); });
      var t = chart.querySelectorAll("rect.t"), f = chart.querySelectorAll("rect.f");
      minutes.forEach(function (m, i) {
        if (!t[i]) return;
        var h = (m.transitions / top) * 100, fh = (m.failures / top) * 100;
        t[i].setAttribute("y", String(110 - h)); t[i].setAttribute("height", String(h));
        f[i].setAttribute("y", String(110 - fh)); f[i].setAttribute("height", String(fh));
        var title = t[i].querySelector("title");
        if (title) title.textContent = String(m.at).slice(11, 16) + ": " +
          m.transitions + " transitions, " + m.failures + " failures";
      });
      var p = document.getElementById("jt-peak");
      if (p) p.textContent = String(peak);
    });
  }
  function refreshFailures() {
    var holder = document.getElementById("jt-failures");
    if (!holder) return Promise.resolve();
    return api("/api/jobs?state=failed&limit=8").then(function (r) {
      if (r.status !== 200) return;
      var table = holder;
      if (holder.tagName !== "TABLE") {
        if (!r.body.jobs.length) return;
        table = el("table", "jobs");
        table.id = "jt-failures";
        var head = el("tr");
        ["id", "name", "reason", "message", "ended"].forEach(function (h) { head.appendChild(el("th", null, h)); });
        table.appendChild(el("thead")).appendChild(head);
        table.appendChild(el("tbody"));
        holder.replaceWith(table);
      }
      var tbody = table.querySelector("tbody");
      tbody.replaceChildren.apply(tbody, r.body.jobs.map(failureRow));
    });
  }
  function refreshListRows(ids) {
    var table = document.getElementById("jt-jobs");
    if (!table) return Promise.resolve();
    var rows = rowsOf(table), wanted = table.dataset.state, firstPage = table.dataset.firstPage === "yes";
    return Promise.all(Array.from(ids).map(function (id) {
      var row = rows.get(id);
      if (!row && !firstPage) return null;
      return api("/api/jobs/" + encodeURIComponent(id)).then(function (r) {
        var current = rowsOf(table).get(id);
        if (r.status !== 200) { if (current) current.classList.add("gone"); return; }
        var job = r.body, fresh = jobRow(job);
        if (current) {
          if (wanted && job.state !== wanted) fresh.classList.add("gone");
          current.replaceWith(fresh);
        } else if (!wanted || job.state === wanted) {
          var tbody = table.querySelector("tbody");
          tbody.insertBefore(fresh, tbody.firstChild);
          while (tbody.children.length > 50) tbody.removeChild(tbody.lastChild);
          var empty = document.getElementById("jt-empty");
          if (empty) empty.remove();
        }
      });
    }));
  }
  function setField(name, value) {
    document.querySelectorAll('[data-field="' + name + '"]').forEach(function (node) { node.textContent = value; });
  }
  function setTimeField(name, iso) {
    document.querySelectorAll('[data-field="' + name + '"]').forEach(function (node) {
      node.replaceChildren(timeEl(iso), el("span", "abs", absolute(iso)));
    });
  }
  function refreshDetail() {
    return Promise.all([api(jobPath(jobId).replace("/jobs", "/api/jobs")), api(jobPath(jobId).replace("/jobs", "/api/jobs") + "/history")])
      .then(function (rs) {
        var r = rs[0], h = rs[1];
        if (r.status === 410 || r.status === 404) { window.location.reload(); return; }
        if (r.status !== 200) return;
        var job = r.body;
        document.querySelectorAll('#jt-detail [data-field="state"]').forEach(function (b) { b.replaceWith(badge(shownState(job))); });
        var detail = document.getElementById("jt-detail");  // row-STATE: the progress bar's colour, as in the list
        if (detail) detail.className = "panel detail row-" + shownState(job);
        setField("name", job.name || "—");
        var prog = document.querySelector('[data-field="progress"]');
        if (prog) prog.replaceChildren(job.progress ? progressEl(job.progress) : document.createTextNode("—"));
        ["created_at", "started_at", "heartbeat_at", "ended_at", "expires_at"].forEach(function (k) { setTimeField(k, job[k]); });
        setField("duration", duration(job));
        setField("lease", job.lease === null ? "—" : seconds(job.lease));
        setField("max_runtime", job.max_runtime === null ? "—" : seconds(job.max_runtime));
        var e = job.error || {}, panel = document.getElementById("jt-error-panel");
        if (panel) panel.hidden = !job.error;
        setField("error.reason", e.reason || ""); setField("error.type", e.type || ""); setField("error.message", e.message || "");
        var tb = document.querySelector('[data-field="error.traceback"]');
        if (tb) { tb.textContent = e.traceback || ""; tb.hidden = !e.traceback; }
        setField("data", JSON.stringify(job.data === undefined ? null : job.data, null, 2));
        if (h.status === 200) renderTimeline(h.body);
      });
  }
  function renderTimeline(entries) {
    var list = document.getElementById("jt-timeline");
    if (!list) return;
    list.replaceChildren.apply(list, entries.map(function (entry) {
      var li = el("li", "state-" + entry.to);
      li.appendChild(timeEl(entry.at));
      li.appendChild(el("span", "abs", absolute(entry.at)));
      li.appendChild(el("span", "move", (entry.from || "·") + " → " + entry.to));
      if (entry.reason) li.appendChild(el("span", "note", entry.reason + (entry.message ? ": " + entry.message : "")));
      return li;
    }));
  }

  function flush() {
    timer = null;
    var ids = pending.jobs, work = [];
    pending.jobs = new Set();
    if (pending.counts) { pending.counts = false; work.push(refreshCounts()); }
    if (page === "overview") {
      if (pending.activity) { pending.activity = false; work.push(refreshActivity()); }
      if (pending.failures) { pending.failures = false; work.push(refreshFailures()); }
    } else if (page === "list") {
      work.push(refreshListRows(ids));
    } else if (page === "detail" && ids.has(jobId)) {
      work.push(refreshDetail());
    }
    Promise.all(work).catch(function () { /* the next event or reconnect redraws */ });
  }
  function schedule() { if (!timer) timer = setTimeout(flush, 150); }
  function refreshAll() {
    pending.counts = pending.activity = pending.failures = true;
    if (page === "list") rowsOf(document.getElementById("jt-jobs")).forEach(function (_, id) { pending.jobs.add(id); });
    if (page === "detail") pending.jobs.add(jobId);
    schedule();
  }
  function onEvent(event) {
    pending.jobs.add(event.job_id);
    var change = !event.progress || event.state !== "running";
    if (change) { pending.counts = true; pending.activity = true; }
    if (event.state === "failed") pending.failures = true;
    schedule();
  }

  function reloadWhenRedisAnswers() {   // the "Redis is unavailable" page: show the page asked for
    api("/api/counts").then(function (r) { if (r.status === 200) window.location.reload(); })
      .catch(function () { /* the next status message tries again */ });
  }
  function setLive(kind, text) { if (liveEl) { liveEl.className = "live " + kind; liveEl.textContent = text; } }
  function connect() {
    var params = new URLSearchParams();
    if (lastId) params.set("since", lastId);
    if (page === "detail") params.set("job", jobId);
    source = new EventSource(base + "/api/events?" + params.toString());
    source.addEventListener("status", function (e) {
      var status = JSON.parse(e.data).status;
      if (status === "live") {
        retries = 0;
        if (page === "error") { reloadWhenRedisAnswers(); return; }
        setLive("on", "live");
        if (down) { down = false; refreshAll(); }
      } else { down = true; setLive("reconnecting", "Redis unavailable · reconnecting…"); }
    });
    source.onmessage = function (e) {
      if (e.lastEventId) lastId = e.lastEventId;
      onEvent(JSON.parse(e.data));
    };
    source.onerror = function () {
      down = true;
      setLive("reconnecting", "reconnecting…");
      if (source.readyState === EventSource.CLOSED) {   // the server answered with an error: retry ourselves
        source.close();
        setTimeout(connect, Math.min(10000, 500 * Math.pow(2, retries++)));
      }
    };
  }

  setInterval(function () {   // relative times only: no request is made
    document.querySelectorAll("time[datetime]").forEach(function (t) { t.textContent = relative(t.getAttribute("datetime")); });
  }, 10000);
  var live = page === "overview" || page === "list" || page === "detail" ||
    (page === "error" && document.querySelector(".code-redis_unavailable"));
  if (live) connect(); else if (liveEl) liveEl.hidden = true;   // nothing on this page updates
})();
