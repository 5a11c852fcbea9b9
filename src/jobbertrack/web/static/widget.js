// <jobbertrack-job job-id="..."> : one job's state and progress bar, live.
//
//   <script src="https://jobs.example.com/widget.js" defer></script>
//   <jobbertrack-job job-id="01M8GSPYN920TPZ70B37V"></jobbertrack-job>
//
// No dependencies; shadow DOM keeps the page's CSS out and ours in.  The
// dashboard is the origin this script was loaded from (or the element's
// `dashboard` attribute); a page of another origin must be listed in the
// dashboard's --allow-origin, else the dashboard refuses it.  Job data is
// written with textContent only.  The host element carries `state` (a job
// state, or "loading", "unknown", "expired", "refused", "error") for styling
// and tests.  All the elements of a page share one event stream per dashboard.
//
// A group (job-id of a group) shows "37 / 100 done · 2 failed": its children
// ended, of those made so far.  A child's move emits the child's event only,
// never one of its group, and the stream names no job's group; so while a
// group has not ended its element reads it again every GROUP_POLL_MS (one
// small GET), rather than take every job's events.  Its own events (it
// starts, ends, runs again after a retry) are followed as any job's.
(function () {
  "use strict";
  if (window.customElements.get("jobbertrack-job")) return;
  var script = document.currentScript;
  var defaultBase = script && script.src ? script.src.replace(/\/widget\.js(?:[?#].*)?$/, "") : "";
  var CSS =
    ":host{display:inline-block;font:13px system-ui,-apple-system,'Segoe UI',Roboto,sans-serif;min-width:220px}" +
    ".box{border:1px solid #d0d5dd;border-radius:8px;padding:8px 10px;background:#fff;color:#1f2933}" +
    ".top{display:flex;justify-content:space-between;gap:8px;align-items:center;margin-bottom:6px}" +
    ".name{overflow:hidden;text-overflow:ellipsis;white-space:nowrap;font-weight:600}" +
    ".state{border-radius:999px;padding:1px 8px;font-size:11px;font-weight:600;background:#eef0f3}" +
    ".s-waiting{color:#8a6d00;background:#fff4c2}.s-running{color:#1d4ed8;background:#dbe7ff}" +
    ".s-failed,.s-refused,.s-error,.s-expired,.s-unknown{color:#b42318;background:#fde2e0}" +
    ".s-finished{color:#067647;background:#d6f5e3}" +
    ".bar{height:8px;border-radius:4px;background:#e4e7eb;overflow:hidden}" +
    ".fill{height:100%;width:0;background:#2563eb;transition:width .3s}" +
    ".s-finished~.fill,.done .fill{background:#12b76a}.failed .fill{background:#d92d20}" +
    ".msg{color:#616e7c;font-size:12px;margin-top:4px;min-height:1em;overflow:hidden;text-overflow:ellipsis;white-space:nowrap}";

  var GROUP_POLL_MS = 500;
  var ENDED = { finished: true, failed: true, cancelled: true };

  function make(tag, cls) { var n = document.createElement(tag); if (cls) n.className = cls; return n; }

  // One event stream per dashboard for all the elements of a page: browsers
  // allow only 6 HTTP/1.1 connections per host, so a stream per element
  // would starve the page (and the elements' own fetches) from the 6th on.
  var hubs = new Map();
  function hubFor(base) {
    var hub = hubs.get(base);
    if (!hub) { hub = new Hub(base); hubs.set(base, hub); }
    return hub;
  }

  function Hub(base) {
    this.base = base;
    this.members = new Map();   // job id -> Set of elements
    this.source = null;
    this.lastId = "";
    this.timer = null;
    this.live = false;
    this.retries = 0;
  }
  Hub.prototype.add = function (id, el) {
    if (!this.members.has(id)) { this.members.set(id, new Set()); this.reopenSoon(); }
    this.members.get(id).add(el);
    if (this.live) el.load(false);
  };
  Hub.prototype.remove = function (id, el) {
    var set = this.members.get(id);
    if (!set) return;
    set.delete(el);
    if (!set.size) { this.members.delete(id); this.reopenSoon(); }
  };
  Hub.prototype.all = function (fn) { this.members.forEach(function (set) { set.forEach(fn); }); };
  Hub.prototype.reopenSoon = function (delay) {
    var self = this;
    if (this.timer) return;
    this.timer = setTimeout(function () { self.timer = null; self.open(); }, delay || 0);
  };
  Hub.prototype.open = function () {
    if (this.source) { this.source.close(); this.source = null; }
    this.live = false;
    if (!this.members.size) return;
    var params = new URLSearchParams(), self = this, opened = false;
    this.members.forEach(function (_, id) { params.append("job", id); });
    if (this.lastId) params.set("since", this.lastId);   // nothing is missed across a reopen
    var source = new EventSource(this.base + "/api/events?" + params.toString());
    this.source = source;
    source.addEventListener("status", function (e) {
      opened = true;
      self.retries = 0;
      self.live = JSON.parse(e.data).status === "live";
      // loaded once the stream is subscribed, so no change falls in between
      self.all(function (el) { if (self.live) el.load(false); else el.note("reconnecting…"); });
    });
    source.onmessage = function (e) {
      if (e.lastEventId) self.lastId = e.lastEventId;
      var ev = JSON.parse(e.data), set = self.members.get(ev.job_id);
      if (set) set.forEach(function (el) { el.onEvent(ev); });
    };
    source.onerror = function () {
      self.live = false;
      if (source.readyState !== EventSource.CLOSED) {   // the browser reconnects by itself
        self.all(function (el) { el.note("reconnecting…"); });
        return;
      }
      // the dashboard answered with an error: refused (origin not allowed,
      // no access) if it never worked, else try again later
      source.close();
      if (self.source === source) self.source = null;
      self.all(function (el) { el.load(!opened); });
      if (opened) self.reopenSoon(Math.min(10000, 1000 * Math.pow(2, self.retries++)));
    };
  };
  class JobberTrackJob extends HTMLElement {
    static get observedAttributes() { return ["job-id", "dashboard"]; }

    constructor() {
      super();
      var root = this.attachShadow({ mode: "open" });
      if ("adoptedStyleSheets" in root && typeof CSSStyleSheet === "function" && "replaceSync" in CSSStyleSheet.prototype) {
        var sheet = new CSSStyleSheet();
        sheet.replaceSync(CSS);
        root.adoptedStyleSheets = [sheet];
      } else {
        var style = make("style");
        style.textContent = CSS;
        root.appendChild(style);
      }
      this.box = make("div", "box");
      var top = make("div", "top");
      this.nameEl = make("span", "name");
      this.stateEl = make("span", "state");
      top.appendChild(this.nameEl);
      top.appendChild(this.stateEl);
      var bar = make("div", "bar");
      this.fillEl = make("div", "fill");
      bar.setAttribute("role", "progressbar");
      bar.setAttribute("aria-valuemin", "0");
      bar.setAttribute("aria-valuemax", "100");
      this.barEl = bar;
      bar.appendChild(this.fillEl);
      this.msgEl = make("div", "msg");
      this.box.appendChild(top);
      this.box.appendChild(bar);
      this.box.appendChild(this.msgEl);
      root.appendChild(this.box);
      this.joined = null;   // {hub, id} while the element follows a job
      this.poll = null;     // a group's timer while it has not ended
      this.isGroup = false;
    }

    connectedCallback() { this.start(); }
    disconnectedCallback() { this.stop(); }
    attributeChangedCallback() { if (this.isConnected) this.start(); }

    get base() { return (this.getAttribute("dashboard") || defaultBase).replace(/\/$/, ""); }

    stop() {
      this.follow(false);
      this.isGroup = false;
      if (this.joined) { this.joined.hub.remove(this.joined.id, this); this.joined = null; }
    }

    start() {
      var id = this.getAttribute("job-id"), base = this.base;
      if (this.joined && this.joined.id === id && this.joined.hub.base === base) return;
      this.stop();
      if (!id) { this.show("error", "no job-id"); return; }
      this.nameEl.textContent = id;
      this.show("loading", "connecting…");
      this.joined = { hub: hubFor(base), id: id };
      this.joined.hub.add(id, this);
    }

    note(text) { this.msgEl.textContent = text; }

    onEvent(ev) {
      if (this.isGroup) { this.load(false); return; }   // its counts are read, not in the event
      this.setState(ev.state);
      if (ev.progress) this.setProgress(ev.progress, ev.state);
      if (ev.error) this.msgEl.textContent = ev.error.message || ev.error.reason || "failed";
      if (ev.state === "finished") { this.setBar(100); this.msgEl.textContent = "done"; }   // wherever progress stopped
    }

    load(refusedIfFails) {
      var self = this, joined = this.joined;
      if (!joined) return;
      if (this.loading) { this.again = true; return; }   // one read at a time: the next one follows it
      this.loading = true;
      function done() {
        self.loading = false;
        if (self.again) { self.again = false; self.load(false); }
      }
      fetch(joined.hub.base + "/api/jobs/" + encodeURIComponent(joined.id), { headers: { Accept: "application/json" } })
        .then(function (r) {
          return r.json().then(function (body) {
            if (self.joined !== joined) return;   // the element moved on meanwhile
            if (r.status === 200) { self.render(body); return; }
            if (r.status === 404) self.show("unknown", "unknown job");
            else if (r.status === 410) self.show("expired", "this job has expired");
            else self.show("refused", body.message || "refused");
          });
        })
        .catch(function () {
          if (self.joined !== joined) return;
          if (refusedIfFails) self.show("refused", "the dashboard refused this page");
          else self.show("error", "dashboard unreachable");
        })
        .then(done, done);
    }

    render(job) {
      this.nameEl.textContent = job.name || job.id;
      this.setState(job.state);
      if (job.group) { this.renderGroup(job); return; }
      if (job.progress) this.setProgress(job.progress, job.state);
      else this.setBar(job.state === "finished" ? 100 : 0);
      if (job.error) this.msgEl.textContent = job.error.message || job.error.reason || "failed";
      else if (job.state === "finished") this.msgEl.textContent = "done";
      else if (!job.progress) this.msgEl.textContent = "";
    }

    renderGroup(job) {
      var counts = job.group.counts || {}, total = job.group.total || 0;
      var ended = (counts.finished || 0) + (counts.failed || 0) + (counts.cancelled || 0);
      var text = ended + " / " + total + " done";
      if (counts.failed) text += " · " + counts.failed + " failed";
      if (counts.cancelled) text += " · " + counts.cancelled + " cancelled";
      this.isGroup = true;
      this.setAttribute("group", "");
      this.setBar(total > 0 ? (100 * ended) / total : job.state === "finished" ? 100 : 0);
      this.msgEl.textContent = text;
      this.follow(!ENDED[job.state]);
    }

    follow(on) {   // a group that has not ended is read again every GROUP_POLL_MS, while the stream is live
      var self = this;
      if (on && !this.poll) {
        this.poll = setInterval(function () {
          if (self.joined && self.joined.hub.live) self.load(false);
        }, GROUP_POLL_MS);
      } else if (!on && this.poll) {
        clearInterval(this.poll);
        this.poll = null;
      }
    }

    setState(state) {
      this.setAttribute("state", state);
      this.stateEl.className = "state s-" + state;
      this.stateEl.textContent = state;
      this.box.className = "box " + (state === "finished" ? "done" : state === "failed" ? "failed" : "");
    }

    setBar(pct) {
      this.fillEl.style.width = pct + "%";
      this.barEl.setAttribute("aria-valuenow", String(Math.round(pct)));
    }

    setProgress(p, state) {
      if (state === "finished") {
        this.setBar(100);
      } else if (typeof p.current === "number" && typeof p.total === "number" && p.total > 0) {
        this.setBar(Math.max(0, Math.min(100, (100 * p.current) / p.total)));
      }
      var text = p.total === null || p.total === undefined ? String(p.current) : p.current + "/" + p.total;
      this.msgEl.textContent = p.message ? text + " · " + p.message : text;
    }

    show(state, message) {
      this.follow(false);
      this.setAttribute("state", state);
      this.stateEl.className = "state s-" + state;
      this.stateEl.textContent = state;
      this.msgEl.textContent = message;
    }
  }

  window.customElements.define("jobbertrack-job", JobberTrackJob);
})();
