// Checkout: open BrandPay's payment window for the order described by the button's
// data-* attributes (no inline script: the CSP forbids it). The SDK navigates to
// Toss's page and Toss redirects back to successUrl/failUrl; the server confirms.
(function () {
  "use strict";

  function show(el, visible) {
    if (el) el.hidden = !visible;
  }

  function start(button) {
    var d = button.dataset;
    var pending = document.getElementById("pay-pending");
    var error = document.getElementById("pay-error");
    show(error, false);
    if (typeof window.BrandPay !== "function") {
      error.textContent = d.sdkError;
      show(error, true);
      return;
    }
    button.setAttribute("aria-disabled", "true");
    button.disabled = true;
    show(pending, true);
    var brandpay = new window.BrandPay(d.clientKey, d.customerKey, {
      redirectUrl: d.redirectUrl
    });
    brandpay.requestPayment({
      amount: parseInt(d.amount, 10),
      orderId: d.orderId,
      orderName: d.orderName,
      successUrl: d.successUrl,
      failUrl: d.failUrl
    }).catch(function (err) {
      // The window could not open (or was closed before it navigated): let them retry.
      show(pending, false);
      error.textContent = d.sdkError + (err && err.code ? " (" + err.code + ")" : "");
      show(error, true);
      button.disabled = false;
      button.removeAttribute("aria-disabled");
      button.focus();
    });
  }

  document.addEventListener("DOMContentLoaded", function () {
    var button = document.getElementById("pay-button");
    if (button) {
      button.addEventListener("click", function () { start(button); });
    }
  });
  window.addEventListener("pageshow", function (event) {
    // Back from Toss's page via the back button: the window is no longer open.
    if (event.persisted) {
      show(document.getElementById("pay-pending"), false);
      var button = document.getElementById("pay-button");
      if (button) {
        button.disabled = false;
        button.removeAttribute("aria-disabled");
      }
    }
  });
})();
