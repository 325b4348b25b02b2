// The console's one script. Violations page: server-sent events from /api/events tell when
// a violation opens or closes; the table body is then fetched again, rendered (and escaped)
// by the server with the page's own filters. Cameras page: thumbnails refreshed.
(function () {
  "use strict";
  // Camera thumbnails: the last sampled frame, fetched again every data-refresh seconds.
  document.querySelectorAll("img[data-refresh]").forEach(function (img) {
    var base = img.getAttribute("src");
    var every = 1000 * Number(img.getAttribute("data-refresh"));
    setInterval(function () { img.src = base + "?t=" + Date.now(); }, every);
  });
  var table = document.querySelector("table.list[data-query]");
  if (!table || !window.EventSource) return;  // not the Violations page
  var query = table.getAttribute("data-query");
  var tbody = document.getElementById("rows");
  var total = document.getElementById("total");
  var live = document.getElementById("live");
  var refreshing = false;
  function refresh() {
    if (refreshing) return;
    refreshing = true;
    var known = {};
    tbody.querySelectorAll("tr[data-id]").forEach(function (tr) { known[tr.getAttribute("data-id")] = true; });
    fetch("/violations/rows?" + query + "&page=" + table.getAttribute("data-page"), { credentials: "same-origin" })
      .then(function (r) {
        if (!r.ok) return Promise.reject(r.status);
        if (total && r.headers.get("X-Total-Count")) total.textContent = r.headers.get("X-Total-Count");
        return r.text();
      })
      .then(function (html) {
        tbody.innerHTML = html;
        var n = tbody.querySelectorAll("tr[data-id]");
        n.forEach(function (tr) { if (!known[tr.getAttribute("data-id")]) tr.classList.add("new"); });
      })
      .catch(function () {})
      .then(function () { refreshing = false; });
  }
  var source = new EventSource("/api/events");
  source.onopen = function () { live.hidden = false; };
  source.onerror = function () { live.hidden = true; };
  source.addEventListener("violation_opened", refresh);
  source.addEventListener("violation_closed", refresh);
})();
