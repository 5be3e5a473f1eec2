// While an import runs, its page asks for the import's progress every three
// seconds and moves the bar, rather than reloading itself (a reload sent a
// screen reader and the keyboard focus back to the top of the page each time).
// Once the import has ended, the page is loaded again, once, for its counts and
// its report.
(function () {
  "use strict";
  var bar = document.querySelector("progress[data-import-progress-url]");
  if (!bar) {
    return;
  }
  var url = bar.getAttribute("data-import-progress-url");
  var percent = document.querySelector("[data-import-percent]");
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok) {
          throw new Error(response.status);
        }
        return response.json();
      })
      .then(function (job) {
        if (job.status !== "queued" && job.status !== "running") {
          window.location.reload();
          return;
        }
        var total = Math.max(job.total, 1);
        bar.value = job.done;
        if (percent) {
          percent.textContent = Math.floor((100 * job.done) / total) + "%";
        }
        setTimeout(poll, 3000);
      })
      .catch(function () {
        setTimeout(poll, 15000); // signed out, or the server away: try less often
      });
  }
  setTimeout(poll, 3000);
})();
