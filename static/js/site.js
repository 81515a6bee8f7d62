/* The little the pages do with JavaScript; every page works without it. */
(function () {
  "use strict";
  // "Print this receipt" buttons: hidden without JavaScript (the browser's own print works).
  document.querySelectorAll("[data-print]").forEach(function (button) {
    button.hidden = false;
    button.addEventListener("click", function () { window.print(); });
  });
  // After a form comes back with errors, take keyboard and screen-reader users to the summary.
  var summary = document.getElementById("error-summary");
  if (summary && summary.hasAttribute("tabindex")) { summary.focus(); }
})();
