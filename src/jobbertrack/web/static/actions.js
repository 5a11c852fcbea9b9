// The dashboard's buttons, on the pages of a viewer who may write (the
// server renders them, and this script, only then): Cancel, Retry and
// Delete on a job's page, "Retry all failed" on the failed list, Pause and
// Resume on the Queues page.
//
// Each asks first (confirm / prompt), calls the HTTP API (same origin, the
// session cookie, the page's CSRF token in X-CSRF-Token, a JSON body) and
// says how it went in #jt-action-status, as text: textContent only, never
// HTML.  The page itself is redrawn by live.js, from the server's templates:
// the move's event does it, and so does the "jt:changed" event sent here
// (the stream may be down).  After a delete the browser goes to the list,
// which says the job was deleted.
(function () {
  "use strict";
  var base = document.body.dataset.base || "";
  var statusEl = document.getElementById("jt-action-status");
  var meta = document.querySelector('meta[name="jt-csrf"]');
  var csrf = meta ? meta.getAttribute("content") || "" : "";
  var FLASH = "jt-flash";   // sessionStorage: what the next page of this tab says

  function say(text, kind) {
    if (!statusEl) return;
    statusEl.className = "action-status " + kind;
    statusEl.textContent = text;
  }
  function changed() { document.dispatchEvent(new CustomEvent("jt:changed")); }

  // fetch -> {ok, status, data}: data is the JSON body, or null
  function call(method, url, body) {
    var init = {
      method: method,
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRF-Token": csrf, Accept: "application/json" },
    };
    if (body !== undefined) init.body = JSON.stringify(body);
    return fetch(url, init).then(function (r) {
      return r.text().then(function (text) {
        var data = null;
        try { data = text ? JSON.parse(text) : null; } catch (e) { data = null; }
        return { ok: r.ok, status: r.status, data: data };
      });
    });
  }
  function failure(verb, r) {
    var d = (r && r.data) || {};
    if (r && r.status === 409 && d.current) return "Could not " + verb + ": the job is " + d.current + " now.";
    if (!r) return "Could not " + verb + ": the dashboard did not answer.";
    return "Could not " + verb + ": " + (d.message || "HTTP " + r.status) + (d.error ? " (" + d.error + ")" : "");
  }

  // What each button asks, sends and says.  ask(id) gives the body to
  // send, or null when the viewer said no.
  var ACTIONS = {
    cancel: {
      verb: "cancel", method: "POST", path: "/cancel",
      ask: function (id) {
        var reason = window.prompt("Cancel job " + id + "?\nReason (optional):", "");
        if (reason === null) return null;
        return reason.trim() ? { reason: reason } : {};
      },
      done: function () { return "Cancelled."; },
    },
    retry: {
      verb: "retry", method: "POST", path: "/retry",
      ask: function (id) { return window.confirm("Retry job " + id + " as a new attempt?") ? {} : null; },
      done: function (job) {
        return "Retried: the job is " + ((job && job.state) || "waiting") + (job && job.attempt ? ", attempt " + job.attempt : "") + ".";
      },
    },
    "delete": {
      verb: "delete", method: "DELETE", path: "",
      ask: function (id) { return window.confirm("Delete job " + id + " for good? This cannot be undone.") ? {} : null; },
      done: function (_, id) { return "Job " + id + " was deleted."; },
    },
    // the Queues page: reversible, so asked nothing
    pause: {
      verb: "pause the queue", method: "POST", path: "/pause",
      ask: function () { return {}; },
      done: function (_, name) { return "Queue " + name + " is paused: its jobs wait until it is resumed."; },
    },
    resume: {
      verb: "resume the queue", method: "POST", path: "/resume",
      ask: function () { return {}; },
      done: function (_, name) { return "Queue " + name + " is resumed."; },
    },
    "retry-all": {
      verb: "retry the failed jobs", method: "POST", path: "",
      ask: function () { return window.confirm("Retry every failed job (up to 1000) as a new attempt?") ? { state: "failed" } : null; },
      done: function (data) {
        var n = (data && data.retried) || 0;
        return "Retried " + n + " failed job" + (n === 1 ? "" : "s") + ".";
      },
    },
  };

  function press(button) {
    var action = ACTIONS[button.dataset.action];
    var holder = button.closest("[data-api]");
    if (!action || !holder) return;
    var id = holder.dataset.jobId || holder.dataset.queue || "";
    var body = action.ask(id);
    if (body === null) return;
    var group = holder.querySelectorAll("button[data-action]");
    group.forEach(function (b) { b.disabled = true; });
    say("Working…", "busy");
    call(action.method, holder.dataset.api + action.path, action.method === "DELETE" ? undefined : body)
      .then(function (r) {
        if (!r.ok) {
          group.forEach(function (b) { b.disabled = false; });
          say(failure(action.verb, r), "error");
          if (r.status === 409) changed();   // show the state the job is in now
          return;
        }
        var text = action.done(r.data, id);
        if (button.dataset.action === "delete") {
          say(text, "ok");
          try { window.sessionStorage.setItem(FLASH, text); } catch (e) { /* the list just will not say it */ }
          window.location.assign(base + "/jobs");
          return;
        }
        group.forEach(function (b) { b.disabled = false; });
        say(text, "ok");
        changed();
      }, function () {
        group.forEach(function (b) { b.disabled = false; });
        say(failure(action.verb, null), "error");
      });
  }

  document.addEventListener("click", function (e) {
    var button = e.target instanceof Element ? e.target.closest("button[data-action]") : null;
    if (button && !button.disabled) press(button);
  });

  try {   // what the page before this one left to say (a delete)
    var flash = window.sessionStorage.getItem(FLASH);
    if (flash) { window.sessionStorage.removeItem(FLASH); say(flash, "ok"); }
  } catch (e) { /* no storage: nothing to say */ }
})();
