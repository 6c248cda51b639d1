// BrandPay Wallet embed: merchants add <a data-brandpay-wallet href="WALLET_LINK_URL">
// and this script. A click opens the signed wallet link in a popup window; if popups
// are blocked (or the script did not load) the link itself opens in a new tab, so the
// button always works. When the payment is done, the wallet tells this page (its
// opener) the shop's signed return URL by postMessage and closes; this page then goes
// to that URL, where the shop's server verifies the signed result as always. Only
// messages from the wallet link's own origin, naming a URL on this page's origin, are
// followed. A "brandpay-wallet:result" event (cancelable) is dispatched on the link
// first: a shop that wants to show the result itself calls preventDefault().
(function () {
  "use strict";
  var WIDTH = 480;
  var HEIGHT = 720;

  function features() {
    var left = Math.max(0, (window.screenX || 0) + ((window.outerWidth || WIDTH) - WIDTH) / 2);
    var top = Math.max(0, (window.screenY || 0) + ((window.outerHeight || HEIGHT) - HEIGHT) / 2);
    return "popup=yes,width=" + WIDTH + ",height=" + HEIGHT +
      ",left=" + Math.round(left) + ",top=" + Math.round(top);
  }

  function open(event) {
    var link = event.target.closest ? event.target.closest("a[data-brandpay-wallet]") : null;
    if (!link || event.defaultPrevented || event.button !== 0 ||
        event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return; // modified clicks keep the browser's own new-tab/new-window behaviour
    }
    if ((link.getAttribute("data-brandpay-wallet") || "popup") !== "popup") {
      return; // "tab": let target=_blank do it
    }
    var url = link.href;
    if (!/^https?:\/\//.test(url)) {
      return;
    }
    // "noopener" in the features would make window.open return null even on success,
    // so a blocked popup could not be detected. Open it, then cut the opener link
    // before the wallet page loads; a blocked popup leaves the default (new tab).
    var popup = window.open(url, "brandpay-wallet", features());
    if (popup) {
      opened = { link: link, popup: popup, origin: new URL(url).origin };
      event.preventDefault();
    }
  }

  var opened = null;

  function result(event) {
    var data = event.data || {};
    if (!opened || event.origin !== opened.origin || event.source !== opened.popup ||
        data.type !== "brandpay-wallet:result" || typeof data.url !== "string") {
      return;
    }
    var target;
    try {
      target = new URL(data.url);
    } catch (ignored) {
      return;
    }
    if (target.origin !== window.location.origin) {
      return; // the wallet only ever returns to this shop
    }
    event.source.postMessage({ type: "brandpay-wallet:received" }, opened.origin);
    var notice = new CustomEvent("brandpay-wallet:result", {
      bubbles: true, cancelable: true, detail: { url: target.href }
    });
    var link = opened.link;
    opened = null;
    if (link.dispatchEvent(notice)) {
      window.location.assign(target.href);
    }
  }

  function prepare(link) {
    if (!link.getAttribute("target")) {
      link.setAttribute("target", "_blank");
    }
    var rel = (link.getAttribute("rel") || "").split(/\s+/);
    ["noopener", "noreferrer"].forEach(function (word) {
      if (rel.indexOf(word) < 0) {
        rel.push(word);
      }
    });
    link.setAttribute("rel", rel.join(" ").trim());
  }

  function init() {
    document.querySelectorAll("a[data-brandpay-wallet]").forEach(prepare);
  }

  document.addEventListener("click", open);
  window.addEventListener("message", result);
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
