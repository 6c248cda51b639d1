/* Hosted pages' own script (the sandbox's CSP allows no inline script).
 * Inside the SDK's overlay iframe it talks to the shim in the merchant's page:
 * a relay page posts its one message, Escape asks to close the window. Every
 * message carries the call's nonce and goes to the merchant's origin only. */
(function () {
  "use strict";
  var framed = window.parent !== window;

  function post(message, origin) {
    if (framed && origin) window.parent.postMessage(message, origin);
  }

  var relay = document.getElementById("sdk-message");
  if (relay) post(JSON.parse(relay.textContent), relay.dataset.origin);

  var origin = document.body.dataset.windowOrigin;
  var nonce = document.body.dataset.windowNonce;
  if (framed && origin) {
    document.addEventListener("keydown", function (event) {
      if (event.key === "Escape") {
        post({ source: "toss-sandbox", type: "close", nonce: nonce }, origin);
      }
    });
  }

  // The first field of the step (autofocus is blocked in cross-origin frames).
  var first = document.querySelector("[data-autofocus]");
  if (first) first.focus();

  // Tests (and curious people) can tell the page's script is listening.
  document.documentElement.dataset.windowReady = "1";

  // Pending state: the pressed button says it is working; no double submits.
  Array.prototype.forEach.call(document.querySelectorAll("form"), function (form) {
    form.addEventListener("submit", function (event) {
      var pressed = event.submitter;
      if (form.dataset.sent === "1") {
        event.preventDefault();
        return;
      }
      form.dataset.sent = "1";
      if (pressed) pressed.setAttribute("aria-busy", "true");
      // After the entry list is built, so the pressed button's value is still sent.
      window.setTimeout(function () {
        Array.prototype.forEach.call(form.querySelectorAll("button"), function (b) {
          b.disabled = true;
        });
      }, 0);
    });
  });
})();
