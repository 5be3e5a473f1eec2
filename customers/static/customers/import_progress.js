// While an import runs, reload its admin page every three seconds.
(function () {
  "use strict";
  if (document.querySelector("[data-import-running]")) {
    setTimeout(function () { window.location.reload(); }, 3000);
  }
})();
