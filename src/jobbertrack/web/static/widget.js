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
// state, or "unknown", "expired", "refused", "error") for styling and tests.
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

  function make(tag, cls) { var n = document.createElement(tag); if (cls) n.className = cls; return n; }

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
      this.source = null;
    }

    connectedCallback() { this.start(); }
    disconnectedCallback() { this.stop(); }
    attributeChangedCallback() { if (this.isConnected) this.start(); }

    get base() { return (this.getAttribute("dashboard") || defaultBase).replace(/\/$/, ""); }

    stop() { if (this.source) { this.source.close(); this.source = null; } }

    start() {
      this.stop();
      var id = this.getAttribute("job-id");
      if (!id) { this.show("error", "no job-id"); return; }
      this.nameEl.textContent = id;
      this.show("loading", "connecting…");
      var self = this, url = this.base + "/api/events?job=" + encodeURIComponent(id);
      var source = new EventSource(url);
      this.source = source;
      var loaded = false;
      source.addEventListener("status", function (e) {
        var status = JSON.parse(e.data).status;
        if (status === "live") self.load(id); else self.msgEl.textContent = "reconnecting…";
        loaded = true;
      });
      source.onmessage = function (e) {
        var ev = JSON.parse(e.data);
        if (ev.job_id !== id) return;
        self.setState(ev.state);
        if (ev.progress) self.setProgress(ev.progress, ev.state);
        if (ev.error) self.msgEl.textContent = ev.error.message || ev.error.reason || "failed";
        if (ev.state === "finished" && !ev.progress) self.setBar(100);
      };
      source.onerror = function () {
        if (source.readyState === EventSource.CLOSED) {
          // refused (origin not allowed, no access) or the job is gone: say so once
          self.load(id, !loaded);
        } else {
          self.msgEl.textContent = "reconnecting…";
        }
      };
    }

    load(id, refusedIfFails) {
      var self = this;
      fetch(this.base + "/api/jobs/" + encodeURIComponent(id), { headers: { Accept: "application/json" } })
        .then(function (r) {
          return r.json().then(function (body) {
            if (r.status === 200) { self.render(body); return; }
            if (r.status === 404) self.show("unknown", "unknown job");
            else if (r.status === 410) self.show("expired", "this job has expired");
            else self.show("refused", body.message || "refused");
          });
        })
        .catch(function () {
          self.show(refusedIfFails ? "refused" : "error", refusedIfFails ? "the dashboard refused this page" : "dashboard unreachable");
          if (refusedIfFails) self.stop();
        });
    }

    render(job) {
      this.nameEl.textContent = job.name || job.id;
      this.setState(job.state);
      if (job.progress) this.setProgress(job.progress, job.state);
      else this.setBar(job.state === "finished" ? 100 : 0);
      if (job.error) this.msgEl.textContent = job.error.message || job.error.reason || "failed";
      else if (!job.progress) this.msgEl.textContent = "";
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
      if (typeof p.current === "number" && typeof p.total === "number" && p.total > 0) {
        this.setBar(Math.max(0, Math.min(100, (100 * p.current) / p.total)));
      }
      var text = p.total === null || p.total === undefined ? String(p.current) : p.current + "/" + p.total;
      this.msgEl.textContent = p.message ? text + " · " + p.message : text;
    }

    show(state, message) {
      this.setAttribute("state", state);
      this.stateEl.className = "state s-" + state;
      this.stateEl.textContent = state;
      this.msgEl.textContent = message;
    }
  }

  window.customElements.define("jobbertrack-job", JobberTrackJob);
})();
