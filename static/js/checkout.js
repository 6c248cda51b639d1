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

  // The options form's fields by the name the server reports as wrong.
  var FIELDS = {
    installment: "opt-installment",
    cash_receipt: "opt-receipt-income",
    cash_receipt_number_type: "opt-number-type",
    cash_receipt_number: "opt-number"
  };

  function fail(text, button, field) {
    show("pay-pending", false);
    var error = document.getElementById("pay-error");
    error.textContent = text;
    show("pay-error", true);
    enable(true);
    var target = field && document.getElementById(FIELDS[field] || "");
    if (target) {
      target.setAttribute("aria-invalid", "true");
      target.setAttribute("aria-errormessage", "pay-error");
      target.focus();
    } else if (button) {
      button.focus();
    }
  }

  // Issue 15: the options are stored on the order first (POST, CSRF in the form);
  // the answer is what requestPayment gets for each way.
  function saveOptions() {
    var form = document.getElementById("pay-options");
    if (!form) return Promise.resolve(null);
    Array.prototype.forEach.call(form.querySelectorAll("[aria-invalid]"), function (el) {
      el.removeAttribute("aria-invalid");
    });
    return window.fetch(form.action, {
      method: "POST",
      credentials: "same-origin",
      headers: { Accept: "application/json" },
      body: new window.FormData(form)
    }).then(function (resp) {
      return resp.json().catch(function () { return {}; }).then(function (data) {
        if (!resp.ok || !data.options) {
          var error = data.error || {};
          throw { portalMessage: error.message || toss.config.msgFailed, field: error.field };
        }
        return data.options;
      });
    });
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
    return saveOptions().then(function (options) {
      var extra = (options && options[way]) || {};
      if (way === "brandpay") {
        var brandpay = toss.brandpay();
        if (extra.card) req.card = extra.card;
        if (extra.transfer) req.transfer = extra.transfer;
        // A consent or a registration in the window calls our redirect handler, which
        // accepts only an attempt recorded first (contract §2).
        return toss.recordAttempt("pay", d.next).then(function () {
          return brandpay.requestPayment(req);
        });
      }
      var customerKey = toss.config.customerKey || window.TossPayments.ANONYMOUS;
      if (!toss.checkCustomerKey(customerKey)) {
        throw { portalMessage: toss.config.msgFailed };
      }
      req.method = "CARD";
      req.card = {
        useEscrow: false,
        flowMode: "DEFAULT",
        useCardPoint: extra.card ? extra.card.useCardPoint : false,
        useAppCardOnly: false,
        useInternationalCardOnly: way === "foreign"
      };
      if (extra.card) req.card.cardInstallmentPlan = extra.card.cardInstallmentPlan;
      return sdk.payment({ customerKey: customerKey }).requestPayment(req);
    });
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
      var text = err && err.portalMessage ? err.portalMessage : toss.message(err);
      fail(text, button, err && err.field);
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
