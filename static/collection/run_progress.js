// Polls the run's progress every 2 s and updates the page without reloading it.
(function () {
  "use strict";
  var root = document.getElementById("run-progress");
  if (!root || root.dataset.active !== "true") { return; }
  var url = root.dataset.url;

  function setText(field, value) {
    root.querySelectorAll('[data-field="' + field + '"]').forEach(function (el) { el.textContent = String(value); });
  }

  function render(data) {
    var max = Math.max(data.discovered, 1);
    ["collected", "evaluated"].forEach(function (name) {
      var bar = document.getElementById("bar-" + name);
      bar.max = max;
      bar.value = data[name];
    });
    ["discovered", "collected", "evaluated", "results"].forEach(function (f) { setText(f, data[f]); });
    var status = document.getElementById("run-status");
    status.textContent = data.status_label;
    var rows = document.getElementById("region-rows");
    rows.textContent = "";
    data.regions.forEach(function (r) {
      var tr = document.createElement("tr");
      [r.region, r.status, r.discovered, r.batches_done + " / " + r.batches_total, r.error || "—"].forEach(function (v) {
        var td = document.createElement("td");
        td.textContent = String(v);
        tr.appendChild(td);
      });
      rows.appendChild(tr);
    });
    document.getElementById("progress-live").textContent =
      data.status_label + ": " + data.evaluated + " of " + data.discovered + " functions evaluated";
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (resp) { return resp.ok ? resp.json() : Promise.reject(resp.status); })
      .then(function (data) {
        render(data);
        if (data.finished) { window.location.reload(); } else { window.setTimeout(poll, 2000); }
      })
      .catch(function () { window.setTimeout(poll, 5000); });
  }
  window.setTimeout(poll, 2000);
})();
