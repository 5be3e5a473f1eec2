// Live campaign progress: refreshes the counters every two seconds.
// The page is complete without it (a <noscript> refresh does the same).
(function () {
  "use strict";
  var box = document.getElementById("progress");
  if (!box || !window.fetch) { return; }
  var url = box.getAttribute("data-progress-url");
  function set(name, value) {
    var el = box.querySelector('[data-field="' + name + '"]');
    if (el) { el.textContent = value; }
  }
  function fmt(n) { return Number(n).toLocaleString(); }
  function tick() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (data) {
        if (!data) { return; }
        set("done", fmt(data.done));
        set("total", fmt(data.total));
        set("percent", data.percent);
        set("rate", data.rate === null ? "—" : Math.round(data.rate));
        set("eta", data.eta_seconds === null ? "—" : Math.round(data.eta_seconds) + " s");
        var bar = box.querySelector('[data-field="progress-bar"]');
        if (bar) { bar.max = data.total || 1; bar.value = data.done; }
        Object.keys(data.counts).forEach(function (status) {
          var cell = box.querySelector('[data-count="' + status + '"]');
          if (cell) { cell.textContent = fmt(data.counts[status]); }
        });
        if (data.status === "sending" || data.status === "paused") { setTimeout(tick, 2000); }
      })
      .catch(function () { setTimeout(tick, 5000); });
  }
  setTimeout(tick, 2000);
})();
