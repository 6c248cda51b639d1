// Progress states for slow actions: a submitted form's button shows a busy label and is
// disabled so a double click cannot send the request twice; confirm dialogs for
// destructive actions. No inline script anywhere (the CSP forbids it).
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var question = form.getAttribute("data-confirm");
    // A refund's question states the typed amount: data-confirm-amount names the
    // input, data-money the pattern (12,300원 / ₩12,300), __AMOUNT__ the place.
    var amountInput = form.getAttribute("data-confirm-amount");
    if (question && amountInput) {
      var input = document.getElementById(amountInput);
      var digits = input ? String(input.value).replace(/[^0-9]/g, "") : "";
      // No amount: nothing to confirm; the server refuses it and says why.
      var grouped = digits ? Number(digits).toLocaleString("en-US") : "";
      var money = (form.getAttribute("data-money") || "__N__").replace("__N__", grouped);
      question = digits ? question.replace("__AMOUNT__", money) : "";
    }
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

  // "Print receipt": the print stylesheet keeps only the receipt itself.
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-print]") : null;
    if (button) {
      window.print();
    }
  });

  // "Copy" next to a credential shown once: the key goes to the clipboard, and the
  // status next to the button says so (screen readers hear it through role=status).
  document.addEventListener("click", function (event) {
    var button = event.target.closest ? event.target.closest("[data-copy-target]") : null;
    if (!button) {
      return;
    }
    var input = document.getElementById(button.getAttribute("data-copy-target"));
    if (!input) {
      return;
    }
    var status = button.parentNode.querySelector(".copy-status");
    var done = function () {
      if (status) {
        status.textContent = button.getAttribute("data-copied-label") || "";
      }
    };
    input.focus();
    input.select();
    if (navigator.clipboard && navigator.clipboard.writeText) {
      navigator.clipboard.writeText(input.value).then(done, function () {
        document.execCommand("copy");
        done();
      });
    } else {
      document.execCommand("copy");
      done();
    }
  });
})();
