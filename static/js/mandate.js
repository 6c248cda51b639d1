// The mandate approval page (issue 15): before the form is sent, BrandPay's billing
// agreement runs through the SDK v2, `brandpay.requestBillingAuth()` (contract §6.1;
// typings: BrandPay.requestBillingAuth(): Promise<void>). The server then checks the
// agreement at Toss itself (has_billing_agreement) before it activates the mandate,
// so the browser's word is never taken for it. Without JavaScript the form is sent as
// it is and the server says what is missing.
(function () {
  "use strict";
  var toss = window.WalletToss;
  var form = document.getElementById("mandate-form");
  var status = document.getElementById("brandpay-status");
  if (!toss || !form || !status) return;
  var button = form.querySelector("button[type=submit]");

  function busy(on) {
    toss.busy(button, on);
  }

  form.addEventListener("submit", function (event) {
    if (form.dataset.agreed === "yes") return; // the agreement is done: send it
    event.preventDefault();
    event.stopImmediatePropagation(); // app.js's pending label waits for the real send
    if (button.getAttribute("aria-disabled") === "true") return;
    var brandpay = toss.brandpay();
    if (!brandpay) {
      status.textContent = toss.config.msgMissing;
      return;
    }
    busy(true);
    status.textContent = toss.config.msgOpening;
    // A window may call the redirect handler (a consent): record the attempt first.
    toss.recordAttempt("mandate", form.dataset.next).then(function () {
      return brandpay.requestBillingAuth();
    }).then(function () {
      form.dataset.agreed = "yes";
      status.textContent = button.dataset.busyLabel || "";
      form.submit();
    }, function (err) {
      busy(false);
      status.textContent = toss.message(err);
      button.focus();
    });
  }, true);

  window.addEventListener("pageshow", function (event) {
    if (event.persisted) busy(false); // restored from the back-forward cache
  });
})();
