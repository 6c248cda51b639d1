// BrandPay on the wallet pages through the SDK v2 (contract §6.1):
// `TossPayments(clientKey).brandpay({customerKey, redirectUrl})` and its
// addPaymentMethod, openSettings, changePassword, changeOneTouchPay and
// isOneTouchPayEnabled. Every button carrying data-brandpay-action runs one call.
// Before a window opens, the server records a pending link attempt: a consent or a
// registration in the window calls redirectUrl?code&customerKey (contract §2), and
// the redirect handler accepts only an attempt this member started.
(function () {
  "use strict";
  var toss = window.WalletToss;
  var status = document.getElementById("brandpay-status");
  if (!toss || !status) return;

  function say(text) {
    status.textContent = text;
  }

  var busy = toss.busy;

  function showOneTouch() {
    var state = document.getElementById("onetouch-state");
    if (!state) return;
    var brandpay = toss.brandpay();
    if (!brandpay) return;
    brandpay.isOneTouchPayEnabled().then(function (result) {
      state.textContent = result && result.isEnabled ? state.dataset.on : state.dataset.off;
    }, function (err) {
      var code = err && err.code;
      state.textContent = code === "NEED_MERCHANT_ONE_TOUCH_SETTING"
        ? state.dataset.unavailable
        : code === "NEED_AGREEMENT_WITH_TERMS" ? state.dataset.off : state.dataset.unknown;
    });
  }

  function run(button) {
    if (button.getAttribute("aria-disabled") === "true") return;
    var action = button.dataset.brandpayAction;
    var brandpay = toss.brandpay();
    if (!brandpay) {
      say(toss.config.msgMissing);
      return;
    }
    busy(button, true);
    say(toss.config.msgOpening);
    // The connect page's first call uses the attempt its form recorded; any later
    // press records a fresh one (the first may have been used or have expired).
    var ready = button.dataset.attempt === "recorded"
      ? Promise.resolve()
      : toss.recordAttempt(button.dataset.mode || "settings", button.dataset.next);
    delete button.dataset.attempt;
    ready.then(function () {
      return brandpay[action]();
    }).then(function () {
      busy(button, false);
      if (button.dataset.doneUrl) {
        window.location.assign(button.dataset.doneUrl);
        return;
      }
      say(button.dataset.doneMessage || "");
      showOneTouch();
      button.focus();
    }, function (err) {
      busy(button, false);
      say(toss.message(err));
      button.focus();
    });
  }

  function sameOrigin(url, origin) {
    try {
      return new URL(url).origin === origin;
    } catch (err) {
      return false;
    }
  }

  // Open BrandPay by itself only right after the member pressed our button (a fresh
  // navigation from this site), never when coming back (a phone's full-page window
  // or the back button): that would trap them in a loop.
  function freshFromOurButton() {
    var entries = window.performance && performance.getEntriesByType
      ? performance.getEntriesByType("navigation") : [];
    if (entries.length && entries[0].type !== "navigate") return false;
    return sameOrigin(document.referrer, window.location.origin);
  }

  var buttons = document.querySelectorAll("[data-brandpay-action]");
  Array.prototype.forEach.call(buttons, function (button) {
    button.addEventListener("click", function () { run(button); });
  });
  window.addEventListener("pageshow", function (event) {
    if (!event.persisted) return; // restored from the back-forward cache
    Array.prototype.forEach.call(buttons, function (button) { busy(button, false); });
  });
  showOneTouch();
  var auto = document.querySelector("[data-brandpay-autostart]");
  if (!auto) return;
  if (freshFromOurButton()) {
    run(auto);
  } else if (sameOrigin(document.referrer, toss.config.sdkOrigin)) {
    say(toss.config.msgCanceled);
  }
})();
