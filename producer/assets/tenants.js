// eda tenants page: follows every tenant's changes over server-sent events (/tenants/live) and
// updates the rows shown. Vanilla JavaScript, no build step. The rule is dbwriter's, as far as
// one event at a time can tell: a newer purchase starts over, otherwise the higher rank wins
// (then the later time). The ledger has the last word: a reload shows its verdict.
(function () {
  "use strict";
  var table = document.getElementById("tenants");
  if (!table) return;
  var live = document.getElementById("live");
  var RANK = { published: 1, provisioning: 2, provisioned: 3, failed: 3, cancelled: 4, deprovisioned: 5 };

  function rowFor(change) {
    var rows = table.querySelectorAll("tbody tr");
    var key = change.namespace + "/" + change.release;
    for (var i = 0; i < rows.length; i++) {
      if (rows[i].getAttribute("data-key") === key) return rows[i];
    }
    return null;
  }

  function wins(row, change) {
    var shownTime = Date.parse(row.getAttribute("data-time")) || 0;
    var time = Date.parse(change.time) || 0;
    if (change.status === "published") return time > shownTime;
    var shown = RANK[row.getAttribute("data-status")] || 0;
    var rank = RANK[change.status] || 0;
    return rank > shown || (rank === shown && time > shownTime);
  }

  function apply(change) {
    var row = rowFor(change);
    if (!row || !RANK[change.status] || !wins(row, change)) return;
    row.setAttribute("data-status", change.status);
    row.setAttribute("data-time", change.time);
    var badge = row.querySelector(".badge");
    badge.textContent = change.status;
    badge.setAttribute("data-status", change.status);
    var time = row.querySelector("time");
    time.setAttribute("datetime", change.time);
    time.textContent = String(change.time).replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC");
    var link = row.querySelector("a.trace");
    link.setAttribute("href", "/orders/" + encodeURIComponent(change.trace_id));
    link.textContent = String(change.trace_id).slice(0, 8);
  }

  if (!window.EventSource) {
    live.textContent = "Your browser cannot show live updates; reload the page to refresh.";
    return;
  }
  var source = new EventSource("/tenants/live");
  source.onopen = function () { live.textContent = "Live: changes appear as they happen."; };
  source.onerror = function () { live.textContent = "Connection lost; reconnecting…"; };
  source.onmessage = function (message) {
    try { apply(JSON.parse(message.data)); } catch (e) { /* a malformed line must not stop the page */ }
  };
})();
