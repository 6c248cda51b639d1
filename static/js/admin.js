// Admin pages. A download form (data-download) never leaves the page, so app.js's
// one-click guard would keep it disabled: make it usable again once the file is on
// its way, and say so in the live region.
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.hasAttribute("data-download") || event.defaultPrevented) {
      return;
    }
    var button = form.querySelector("button[type=submit]");
    var label = button ? button.textContent : "";
    window.setTimeout(function () {
      form.removeAttribute("data-submitted");
      form.removeAttribute("aria-busy");
      if (button) {
        button.textContent = button.getAttribute("data-idle-label") || label;
        button.removeAttribute("aria-disabled");
      }
      var status = document.getElementById(form.getAttribute("data-download"));
      if (status) {
        status.textContent = status.getAttribute("data-message") || "";
      }
    }, 3000);
  });
})();
