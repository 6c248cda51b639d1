// The portal's use of Toss's browser SDK v2 (contract §6.1), shared by the wallet and
// checkout pages. The SDK itself comes from <script src=".../v2/standard"> (Toss's
// guide), loaded before this file; settings come from the data-* attributes of
// #toss-config (the CSP forbids inline script).
(function () {
  "use strict";
  var cfg = document.getElementById("toss-config");
  if (!cfg) return;
  var d = cfg.dataset;

  // The typings' rules, checked before any window opens (issue 12, "Bad input"); the
  // server made these values, so a refusal here means a bug, said plainly.
  var ORDER_ID = /^[A-Za-z0-9_=-]{6,64}$/;
  var CUSTOMER_KEY = /^[A-Za-z0-9_=.@-]{2,50}$/;
  var CARD_MINIMUM = 100; // contract §9: card payments start at 100 won

  function sdk() {
    if (typeof window.TossPayments !== "function") return null;
    return window.TossPayments(d.clientKey);
  }

  function absoluteHttp(url) {
    try {
      var u = new URL(url);
      return u.protocol === "https:" || u.protocol === "http:";
    } catch (err) {
      return false;
    }
  }

  // What is wrong with a payment request, in the member's language; "" when fine.
  function problem(req) {
    if (!ORDER_ID.test(req.orderId || "")) return d.msgBadOrderId;
    if (!req.orderName || req.orderName.length > 100) return d.msgBadOrderName;
    var value = req.amount && req.amount.value;
    if (typeof value !== "number" || !isFinite(value) || Math.floor(value) !== value ||
        value < CARD_MINIMUM) {
      return d.msgBadAmount;
    }
    if (!absoluteHttp(req.successUrl) || !absoluteHttp(req.failUrl)) return d.msgBadUrl;
    var meta = req.metadata || {};
    var keys = Object.keys(meta);
    if (keys.length > 5) return d.msgBadMetadata;
    for (var i = 0; i < keys.length; i++) {
      if (keys[i].length > 40 || /[\[\]]/.test(keys[i]) || String(meta[keys[i]]).length > 2000) {
        return d.msgBadMetadata;
      }
    }
    return "";
  }

  function checkCustomerKey(key) {
    return key === (window.TossPayments && window.TossPayments.ANONYMOUS) ||
      CUSTOMER_KEY.test(key || "");
  }

  // Record a pending link attempt on the server before a BrandPay window opens: any
  // consent or registration inside it ends on our redirect handler (contract §2).
  function recordAttempt(mode, next) {
    return window.fetch(d.attemptUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-CSRFToken": d.csrf },
      body: JSON.stringify({ mode: mode, next: next || null })
    }).then(function (resp) {
      if (!resp.ok) {
        var err = new Error("attempt refused");
        err.code = "PORTAL_REFUSED";
        throw err;
      }
    });
  }

  // What to tell the member when a call ends with an error.
  function message(err) {
    var code = err && err.code;
    if (code === "USER_CANCEL" || code === "PAY_PROCESS_CANCELED") return d.msgCanceled;
    if (code === "PORTAL_REFUSED") return d.msgExpired;
    if (code === "NEED_MERCHANT_ONE_TOUCH_SETTING") return d.msgNoOneTouch;
    return d.msgFailed + (code ? " (" + code + ")" : "");
  }

  function brandpay() {
    var toss = sdk();
    if (!toss) return null;
    return toss.brandpay({ customerKey: d.customerKey, redirectUrl: d.redirectUrl });
  }

  // While a Toss window is open: the pending spinner shows and the button is inert
  // (aria-disabled, so it keeps its focus and its name for screen readers).
  function busy(button, on) {
    var pending = document.getElementById("brandpay-pending");
    if (pending) pending.hidden = !on;
    if (on) {
      button.setAttribute("aria-disabled", "true");
    } else {
      button.removeAttribute("aria-disabled");
    }
  }

  window.WalletToss = {
    config: d,
    busy: busy,
    sdk: sdk,
    brandpay: brandpay,
    problem: problem,
    checkCustomerKey: checkCustomerKey,
    recordAttempt: recordAttempt,
    message: message
  };
})();
