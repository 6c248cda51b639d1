// Opens the BrandPay SDK (contract §6) for linking or adding a method. Settings come
// from data-* attributes on #brandpay-connect (the CSP forbids inline script). The
// server recorded a pending link attempt before this page was shown; BrandPay then
// navigates to redirectUrl?code&customerKey (contract §2), where the portal checks it.
(function () {
  "use strict";
  var root = document.getElementById("brandpay-connect");
  if (!root) return;
  var status = document.getElementById("brandpay-status");
  var pending = document.getElementById("brandpay-pending");
  var button = document.getElementById("brandpay-start");

  function say(text) {
    status.textContent = text;
  }

  function busy(on) {
    pending.hidden = !on;
    root.setAttribute("aria-busy", on ? "true" : "false");
    if (on) {
      button.setAttribute("aria-disabled", "true");
    } else {
      button.removeAttribute("aria-disabled");
    }
  }

  function fail(err) {
    busy(false);
    var code = err && err.code;
    // USER_CANCEL: the member closed BrandPay; nothing happened (contract §6).
    var text = code === "USER_CANCEL" ? root.dataset.msgCanceled : root.dataset.msgFailed;
    say(code && code !== "USER_CANCEL" ? text + " (" + code + ")" : text);
    button.focus();
  }

  function start() {
    if (button.getAttribute("aria-disabled") === "true") return;
    // v1 SDK: global `Brandpay`, `BrandPay` kept as a deprecated alias (contract §6).
    var factory = window.Brandpay || window.BrandPay;
    if (typeof factory !== "function") {
      say(root.dataset.msgMissing);
      return;
    }
    busy(true);
    say(root.dataset.msgOpening);
    try {
      var brandpay = factory(root.dataset.clientKey, root.dataset.customerKey, {
        redirectUrl: root.dataset.redirectUrl
      });
      var result = root.dataset.action === "requestAgreement"
        ? brandpay.requestAgreement("회원가입")
        : brandpay.addPaymentMethod();
      // Usually BrandPay navigates to redirectUrl. If the SDK instead resolves (it
      // called redirectUrl itself), show the methods page, which reads Toss's list.
      Promise.resolve(result).then(function () {
        window.location.assign(root.dataset.doneUrl);
      }, fail);
    } catch (err) {
      fail(err);
    }
  }

  function sameOrigin(url, origin) {
    try {
      return new URL(url).origin === origin;
    } catch (err) {
      return false;
    }
  }

  // Open BrandPay by itself only right after the member pressed our button (a fresh
  // navigation from this site). Coming back from BrandPay's page unfinished (its cancel
  // sends the browser here) or with the back button must not reopen it: that would
  // trap the member in a loop. Then the button waits for them instead.
  function freshFromOurButton() {
    var entries = window.performance && performance.getEntriesByType
      ? performance.getEntriesByType("navigation") : [];
    if (entries.length && entries[0].type !== "navigate") return false;
    return sameOrigin(document.referrer, window.location.origin);
  }

  button.addEventListener("click", start);
  window.addEventListener("pageshow", function (event) {
    if (event.persisted) busy(false); // restored from the back-forward cache
  });
  if (root.dataset.autostart !== "1") return;
  if (freshFromOurButton()) {
    start();
  } else if (sameOrigin(document.referrer, root.dataset.sdkOrigin)) {
    say(root.dataset.msgCanceled);
  }
})();
