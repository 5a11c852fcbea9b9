// Keeps the dashboard's pages live over Server-Sent Events: no timer polls
// the server.  The events of a moment (150 ms) are gathered; then the page
// asks the server for itself once (one request, however many events) and
// swaps in its live parts: counts, rows, the job's fields and timeline, the
// failures and the activity chart.  So there is one renderer, the server's
// templates (autoescaped); the HTML is parsed into an inert document
// (DOMParser: no script in it runs, no resource loads) and its nodes are
// adopted, exactly as a page load would have shown them.
(function () {
  "use strict";
  var body = document.body;
  var base = body.dataset.base || "";
  var page = body.dataset.page;
  var jobId = body.dataset.jobId || "";
  var liveEl = document.getElementById("jt-live");
  var lastId = body.dataset.cursor || "";
  var source = null, retries = 0, down = false, timer = null, busy = false, again = false;
  var pending = new Set();   // the jobs the gathered events named
  // A group's page: a child's move emits the child's event only (no group
  // event), so the page follows every event, as the jobs list does, and
  // redraws its counts at most every GROUP_GAP ms.
  var isGroup = page === "detail" && !!document.getElementById("jt-group");
  var GROUP_GAP = 500, lastFetch = 0;

  function relative(iso) {   // as `relative` in web/_format.py: the 10 s ticker's text
    if (!iso) return "";
    var s = (Date.now() - Date.parse(iso)) / 1000, future = s < 0, t;
    s = Math.abs(s);
    if (s < 60) t = Math.floor(s) + " s";
    else if (s < 3600) t = Math.floor(s / 60) + " min";
    else if (s < 86400) t = Math.floor(s / 3600) + " h";
    else t = Math.floor(s / 86400) + " d";
    return future ? "in " + t : t + " ago";
  }

  // This very page, as the server renders it now (one request).
  function fetchPage() {
    return fetch(window.location.href, { headers: { Accept: "text/html" }, credentials: "same-origin" })
      .then(function (r) {
        return r.text().then(function (html) {
          return { status: r.status, doc: new DOMParser().parseFromString(html, "text/html") };
        });
      });
  }
  function swap(fresh, id) {   // the element `id` of the fresh page replaces ours
    var mine = document.getElementById(id), theirs = fresh.getElementById(id);
    if (mine && theirs) mine.replaceWith(document.adoptNode(theirs));
    else if (mine && !theirs) mine.remove();
    return theirs;
  }
  function flash(node) { node.classList.remove("flash"); void node.offsetWidth; node.classList.add("flash"); }
  function updateCounts(fresh) {
    document.querySelectorAll("[data-count]").forEach(function (node) {
      var other = fresh.querySelector('[data-count="' + node.dataset.count + '"]');
      if (other && node.textContent !== other.textContent) { node.textContent = other.textContent; flash(node); }
    });
  }
  function rowsOf(root) {
    var map = new Map(), table = root.getElementById("jt-jobs");
    if (table) table.querySelectorAll("tbody tr").forEach(function (tr) { map.set(tr.dataset.jobId, tr); });
    return map;
  }

  // ---- what each page takes from the fresh one ----
  function updateOverview(fresh) {
    swap(fresh, "jt-failures");
    swap(fresh, "jt-chart");
    swap(fresh, "jt-peak");
    swap(fresh, "jt-activity-caption");
  }
  function updateList(fresh, ids) {
    // Only the rows of the jobs that changed: a row that left this page's
    // state (or page) stays, marked gone, rather than jumping away.
    var table = document.getElementById("jt-jobs");
    if (!table) return;
    var mine = rowsOf(document), theirs = rowsOf(fresh), tbody = table.querySelector("tbody");
    var firstPage = table.dataset.firstPage === "yes", added = [];
    ids.forEach(function (id) {
      var current = mine.get(id), row = theirs.get(id);
      if (row) {
        row = document.adoptNode(row);
        if (current) current.replaceWith(row); else if (firstPage) added.push(row);
      } else if (current) {
        current.classList.add("gone");
      }
    });
    // new rows in the fresh page's order (newest first), above the others
    var order = Array.from(theirs.keys());
    added.sort(function (a, b) { return order.indexOf(a.dataset.jobId) - order.indexOf(b.dataset.jobId); });
    added.reverse().forEach(function (row) { tbody.insertBefore(row, tbody.firstChild); });
    while (tbody.children.length > 50) tbody.removeChild(tbody.lastChild);
    if (added.length) { var empty = document.getElementById("jt-empty"); if (empty) empty.remove(); }
  }
  function updateDetail(fresh) {
    swap(fresh, "jt-detail");
    var panel = fresh.getElementById("jt-problems-panel"), mine = document.getElementById("jt-problems-panel");
    if (panel && !mine) document.getElementById("jt-detail").after(document.adoptNode(panel)); else swap(fresh, "jt-problems-panel");
    swap(fresh, "jt-error-panel");
    swap(fresh, "jt-timeline");
    swap(fresh, "jt-group");
    swap(fresh, "jt-children-panel");
    ["input", "result"].forEach(function (key) {
      var mine = document.getElementById("jt-" + key), theirs = fresh.getElementById("jt-" + key);
      if (!mine || !theirs) { swap(fresh, "jt-" + key + "-panel"); return; }   // none yet, or now some
      mine.querySelector("pre").textContent = theirs.querySelector("pre").textContent;   // the <details> keeps the reader's open/closed
      mine.querySelector("summary").textContent = theirs.querySelector("summary").textContent;
    });
  }

  function flush() {
    timer = null;
    if (busy) { again = true; return; }   // one request at a time: the next one follows it
    var ids = pending;
    pending = new Set();
    if (page === "detail" && !ids.has(jobId)) return;
    if (page === "list" && document.getElementById("jt-jobs") && document.getElementById("jt-jobs").dataset.firstPage !== "yes") {
      var rows = rowsOf(document);   // an older page shows no new job: only its own rows can change
      if (!Array.from(ids).some(function (id) { return rows.has(id); })) return;
    }
    busy = true;
    lastFetch = Date.now();
    fetchPage().then(function (r) {
      if (page === "detail" && (r.status === 404 || r.status === 410)) { window.location.reload(); return; }
      if (r.status !== 200) { retryLater(ids); return; }   // e.g. 503 while Redis comes back
      if (r.doc.body.dataset.page !== page) { window.location.reload(); return; }   // e.g. a login page: show it
      failures = 0;
      updateCounts(r.doc);
      if (page === "overview") updateOverview(r.doc);
      else if (page === "list") updateList(r.doc, ids);
      else if (page === "detail") updateDetail(r.doc);
    }).catch(function () { retryLater(ids); }).then(function () {
      busy = false;
      if (again) { again = false; schedule(); }
    });
  }
  function schedule() {
    if (!timer) timer = setTimeout(flush, isGroup ? Math.max(150, lastFetch + GROUP_GAP - Date.now()) : 150);
  }
  // A redraw that failed (the server said 503, or could not be reached) is
  // tried again a little later, a few times; then the next event or
  // reconnect redraws.
  var failures = 0;
  function retryLater(ids) {
    if (failures >= 5) return;
    failures += 1;
    ids.forEach(function (id) { pending.add(id); });
    setTimeout(schedule, 500 * failures);
  }
  // The Queues and Workers pages draw themselves (fleet.js polls the API):
  // an event, or a reconnect, only tells them to poll now.
  var fleet = page === "queues" || page === "workers";
  function refreshAll() {
    if (fleet) { document.dispatchEvent(new CustomEvent("jt:fleet")); return; }
    if (page === "list") rowsOf(document).forEach(function (_, id) { pending.add(id); });
    if (page === "detail") pending.add(jobId);
    if (page === "overview") pending.add("");
    schedule();
  }
  // actions.js pressed a button: redraw what the page shows, as after a reconnect
  document.addEventListener("jt:changed", refreshAll);
  function onEvent(event) {
    if (fleet) { document.dispatchEvent(new CustomEvent("jt:fleet")); return; }
    // The overview shows no progress: a progress report of a running job changes nothing there.
    if (page === "overview" && event.progress && event.state === "running") return;
    pending.add(isGroup ? jobId : event.job_id);   // any event may be a child's
    schedule();
  }

  function reloadWhenRedisAnswers() {   // the "Redis is unavailable" page: show the page asked for
    fetch(base + "/api/counts", { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (r) { if (r.status === 200) window.location.reload(); })
      .catch(function () { /* the next status message tries again */ });
  }
  function setLive(kind, text) { if (liveEl) { liveEl.className = "live " + kind; liveEl.textContent = text; } }
  function connect() {
    var params = new URLSearchParams();
    if (lastId) params.set("since", lastId);
    if (page === "detail" && !isGroup) params.set("job", jobId);
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
  var live = page === "overview" || page === "list" || page === "detail" || fleet ||
    (page === "error" && document.querySelector(".code-redis_unavailable"));
  if (live) connect(); else if (liveEl) liveEl.hidden = true;   // nothing on this page updates
})();
