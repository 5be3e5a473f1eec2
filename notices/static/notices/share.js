// Share a notice: the system share sheet where there is one, else copy the
// link. Without JavaScript the page shows the link to copy by hand.
(function () {
  "use strict";
  var button = document.querySelector("[data-share]");
  if (!button) { return; }
  var status = document.querySelector(".share-status");
  var url = button.getAttribute("data-share-url");
  var title = button.getAttribute("data-share-title");
  if (!navigator.share && !(navigator.clipboard && navigator.clipboard.writeText)) { return; }
  button.hidden = false;
  button.addEventListener("click", function () {
    if (navigator.share) {
      navigator.share({ title: title, url: url }).catch(function () {});
      return;
    }
    navigator.clipboard.writeText(url).then(function () {
      if (status) { status.textContent = button.getAttribute("data-copied"); }
    });
  });
})();
