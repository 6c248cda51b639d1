// Back to the shop by itself after a merchant's order is paid (issue 14). The receipt
// carries the shop's signed return URL; the link under it stays as the fallback.
// Popup mode (the shop's embed.js opened this window): tell the opener, at the shop's
// own origin only, and close once it answers. Otherwise (a tab, a redirect, an opener
// that does not answer): navigate this window to the shop's return URL.
(function () {
  "use strict";
  var panel = document.querySelector("[data-shop-return]");
  if (!panel || panel.getAttribute("data-auto") !== "1") {
    return;
  }
  var url = panel.getAttribute("data-return-url");
  var origin = panel.getAttribute("data-return-origin");
  var status = panel.querySelector("[data-return-status]");
  var done = false;

  function say(label) {
    if (status) {
      status.textContent = panel.getAttribute(label) || "";
    }
  }

  function navigate() {
    if (!done) {
      done = true;
      say("data-going-label");
      window.location.assign(url);
    }
  }

  var opener = null;
  try {
    opener = window.opener && !window.opener.closed ? window.opener : null;
  } catch (ignored) {
    opener = null;
  }
  if (!opener || !url || !origin) {
    window.setTimeout(navigate, 1500);
    return;
  }
  window.addEventListener("message", function (event) {
    var data = event.data || {};
    if (event.origin !== origin || event.source !== opener || data.type !== "brandpay-wallet:received") {
      return;
    }
    done = true;
    say("data-told-label");
    window.setTimeout(function () {
      window.close();
    }, 300);
  });
  try {
    opener.postMessage({ type: "brandpay-wallet:result", url: url }, origin);
  } catch (ignored) {
    // A closed or navigated opener: fall through to navigating here.
  }
  window.setTimeout(navigate, 2500); // nobody answered: go to the shop in this window
})();
