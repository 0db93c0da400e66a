// eda client portal: follows an order's trace over server-sent events and updates the steps.
// Vanilla JavaScript, no build step; the same progress rules as portal/status.rs (a
// `superseded` changes the status line and shows the newer order that won, never the steps).
(function () {
  "use strict";
  var statusEl = document.getElementById("status");
  if (!statusEl) return;
  var traceId = statusEl.getAttribute("data-trace-id");
  var events = document.getElementById("events");
  var live = document.getElementById("live");
  var steps = document.getElementById("steps");
  var RANK = { published: ["accepted", 1], provisioning: ["provisioning", 2], provisioned: ["provisioned", 3],
               failed: ["failed", 3], cancelled: ["cancelled", 4], deprovisioned: ["deprovisioned", 5] };
  var state = ["waiting", 0];
  var superseded = false;
  var seen = {};

  function advance(action) {
    var next = RANK[action];
    if (next && next[1] > state[1]) state = next;
  }

  // The last superseded seen names the winner, as the server's page does.
  function supersede(fields) {
    superseded = true;
    var notice = document.getElementById("superseded");
    if (!notice || !fields) return;
    [["newer-order-id", "newer_order_id"], ["newer-order-time", "newer_order_time"],
     ["newer-desired", "newer_desired"]].forEach(function (pair) {
      var el = document.getElementById(pair[0]);
      if (el) el.textContent = fields[pair[1]] !== undefined ? String(fields[pair[1]]) : "";
    });
    notice.hidden = false;
  }

  function paint() {
    var shown = superseded ? "superseded" : state[0];
    statusEl.textContent = shown;
    statusEl.setAttribute("data-state", shown);
    var order = ["accepted", "provisioning", "done"];
    var reached = { waiting: -1, accepted: 0, provisioning: 1, provisioned: 2, failed: 2,
                    cancelled: 2, deprovisioned: 2 }[state[0]];
    var items = steps.querySelectorAll("li");
    for (var i = 0; i < items.length; i++) {
      var li = items[i];
      li.className = "";
      var at = order.indexOf(li.getAttribute("data-step"));
      if (at < reached) li.className = "done";
      if (at === reached) li.className = state[0] === "failed" ? "failed" : (at === 2 ? "done" : "current");
      if (at === 2 && state[0] === "failed") li.textContent = "Failed";
    }
  }

  function text(tag, value, cls) {
    var el = document.createElement(tag);
    el.textContent = value;
    if (cls) el.className = cls;
    return el;
  }

  function add(entry) {
    if (seen[entry.message_id]) return;
    seen[entry.message_id] = true;
    var li = document.createElement("li");
    li.setAttribute("data-id", entry.message_id);
    li.setAttribute("data-action", entry.action);
    var details = [];
    ["error", "reason", "message", "namespace", "release", "type"].forEach(function (k) {
      if (entry.fields && entry.fields[k] !== undefined) details.push(k + ": " + entry.fields[k]);
    });
    li.appendChild(text("time", entry.time));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(text("b", entry.action));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(text("span", entry.app, "app"));
    li.appendChild(document.createTextNode(" "));
    li.appendChild(text("span", details.join(" · "), "detail"));
    events.appendChild(li);
    if (entry.action === "superseded") supersede(entry.fields);
    advance(entry.action);
    paint();
  }

  var existing = events.querySelectorAll("li");
  for (var i = 0; i < existing.length; i++) {
    seen[existing[i].getAttribute("data-id")] = true;
    // The server already filled in the notice of a superseded it rendered.
    if (existing[i].getAttribute("data-action") === "superseded") superseded = true;
    advance(existing[i].getAttribute("data-action"));
  }
  paint();

  if (!window.EventSource) {
    live.textContent = "Your browser cannot show live updates; reload the page to refresh.";
    return;
  }
  var source = new EventSource("/api/v1/traces/" + encodeURIComponent(traceId) + "/events");
  source.onopen = function () { live.textContent = "Live: updates appear as they happen."; };
  source.onerror = function () { live.textContent = "Connection lost; reconnecting…"; };
  source.onmessage = function (message) {
    try { add(JSON.parse(message.data)); } catch (e) { /* a malformed line must not stop the page */ }
  };
})();
