// Checkout through Toss's SDK v2 (contract §6.1), settings from data-* attributes
// (the CSP forbids inline script). Three ways, each in redirect mode, so phones work
// too: BrandPay (`brandpay().requestPayment`; a member without BrandPay agrees,
// registers and pays in the same window), the standard card window and the
// international card window (`payment({customerKey}).requestPayment({method:
// "CARD"})`, ANONYMOUS for a guest). Toss redirects to successUrl/failUrl; the
// server re-checks the order and confirms.
(function () {
  "use strict";
  var toss = window.WalletToss;
  var box = document.getElementById("pay-buttons");
  if (!toss || !box) return;
  var d = box.dataset;
  var buttons = box.querySelectorAll("[data-pay-way]");

  function show(id, visible) {
    var el = document.getElementById(id);
    if (el) el.hidden = !visible;
  }

  function enable(on) {
    Array.prototype.forEach.call(buttons, function (b) {
      b.disabled = !on;
      if (on) b.removeAttribute("aria-disabled");
      else b.setAttribute("aria-disabled", "true");
    });
  }

  function fail(text, button) {
    show("pay-pending", false);
    var error = document.getElementById("pay-error");
    error.textContent = text;
    show("pay-error", true);
    enable(true);
    if (button) button.focus();
  }

  function request(button) {
    return {
      amount: { currency: "KRW", value: parseInt(d.amount, 10) },
      orderId: d.orderId,
      orderName: d.orderName,
      successUrl: button.dataset.successUrl,
      failUrl: d.failUrl
    };
  }

  function open(button) {
    var way = button.dataset.payWay;
    var req = request(button);
    var bad = toss.problem(req);
    if (bad) return Promise.reject({ portalMessage: bad });
    var sdk = toss.sdk();
    if (!sdk) return Promise.reject({ portalMessage: toss.config.msgMissing });
    if (way === "brandpay") {
      var brandpay = toss.brandpay();
      // A consent or a registration in the window calls our redirect handler, which
      // accepts only an attempt recorded first (contract §2).
      return toss.recordAttempt("pay", d.next).then(function () {
        return brandpay.requestPayment(req);
      });
    }
    var customerKey = toss.config.customerKey || window.TossPayments.ANONYMOUS;
    if (!toss.checkCustomerKey(customerKey)) {
      return Promise.reject({ portalMessage: toss.config.msgFailed });
    }
    req.method = "CARD";
    req.card = {
      useEscrow: false,
      flowMode: "DEFAULT",
      useCardPoint: false,
      useAppCardOnly: false,
      useInternationalCardOnly: way === "foreign"
    };
    return sdk.payment({ customerKey: customerKey }).requestPayment(req);
  }

  function start(button) {
    if (button.getAttribute("aria-disabled") === "true") return;
    show("pay-error", false);
    enable(false);
    show("pay-pending", true);
    var opened;
    try {
      opened = open(button);
    } catch (err) {
      opened = Promise.reject(err);
    }
    // Redirect mode never resolves: the page goes to successUrl or failUrl.
    opened.catch(function (err) {
      fail(err && err.portalMessage ? err.portalMessage : toss.message(err), button);
    });
  }

  Array.prototype.forEach.call(buttons, function (button) {
    button.addEventListener("click", function () { start(button); });
  });
  window.addEventListener("pageshow", function (event) {
    // Back from a full-page window via the back button: it is no longer open.
    if (event.persisted) {
      show("pay-pending", false);
      enable(true);
    }
  });
})();
