// Progress states for slow actions: a submitted form's button shows a busy label and is
// disabled so a double click cannot send the request twice; confirm dialogs for
// destructive actions. No inline script anywhere (the CSP forbids it).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
      return;
    }
    if (form.getAttribute("data-submitted") === "1") {
      event.preventDefault();
      return;
    }
    form.setAttribute("data-submitted", "1");
    form.setAttribute("aria-busy", "true");
    var button = event.submitter || form.querySelector("button[type=submit]");
    if (button && button.getAttribute("data-busy-label")) {
      button.textContent = button.getAttribute("data-busy-label");
      button.setAttribute("aria-disabled", "true");
    }
  });
  window.addEventListener("pageshow", function () {
    // Coming back with the back button: forms are usable again.
    document.querySelectorAll("form[data-submitted]").forEach(function (form) {
      form.removeAttribute("data-submitted");
      form.removeAttribute("aria-busy");
    });
  });
})();
