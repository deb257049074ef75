// Exports page: poll the status endpoint while any job is queued or running, and update
// each row's status, progress bar and download link in place. Text only (no innerHTML).
(function () {
  "use strict";

  var table = document.getElementById("export-jobs");
  if (!table) { return; }
  var statusUrl = table.getAttribute("data-status-url");

  function activeRows() {
    return table.querySelectorAll("tr[data-active='true']");
  }

  function formatSize(bytes) {
    var units = ["bytes", "KB", "MB", "GB", "TB"];
    var i = 0;
    while (bytes >= 1024 && i < units.length - 1) { bytes /= 1024; i++; }
    return (i === 0 ? bytes : bytes.toFixed(1)) + " " + units[i];
  }

  function update(row, job) {
    var badge = row.querySelector(".job-status");
    badge.textContent = job.status_label;
    badge.className = "badge job-status status-" + job.status;
    var bar = row.querySelector(".job-progress");
    bar.value = job.percent;
    bar.textContent = job.percent + "%";
    row.querySelector(".job-phase").textContent = job.error || job.phase;
    if (job.download_url) {
      var cell = row.querySelector(".job-result");
      cell.textContent = "";
      var link = document.createElement("a");
      link.href = job.download_url;
      link.textContent = "Download " + job.filename;
      var meta = document.createElement("small");
      meta.className = "muted";
      meta.textContent = formatSize(job.size) + " · SHA-256 " + job.sha256;
      cell.appendChild(link);
      cell.appendChild(meta);
    }
    var active = job.status === "queued" || job.status === "running";
    row.setAttribute("data-active", active ? "true" : "false");
  }

  function poll() {
    var rows = activeRows();
    if (!rows.length) { return; }
    var query = Array.prototype.map.call(rows, function (row) {
      return "id=" + encodeURIComponent(row.getAttribute("data-job"));
    }).join("&");
    fetch(statusUrl + "?" + query, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (response) { return response.ok ? response.json() : { jobs: [] }; })
      .then(function (data) {
        data.jobs.forEach(function (job) {
          var row = document.getElementById("job-" + job.id);
          if (row) { update(row, job); }
        });
      })
      .catch(function () { /* keep polling: a transient network error is not fatal */ })
      .then(function () { window.setTimeout(poll, 2000); });
  }

  window.setTimeout(poll, 1000);
})();
