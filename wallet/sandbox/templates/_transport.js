  /* The shims' shared transport (included in standard.js and brandpay.js).
   * A call is validated and stored by the sandbox (POST /_hosted/api/windows), then
   * its window opens over the merchant's page (an iframe in a modal dialog) or, on
   * a phone or with windowTarget "self", as the whole page. The framed window talks
   * back with postMessage: only from the sandbox's origin, only from our iframe,
   * only with this call's nonce. */
  var SANDBOX = {{ base|tojson }};
  var SANDBOX_ORIGIN = new URL(SANDBOX).origin;
  var NARROW = {{ narrow|tojson }};
  var SCREAMING = /^[A-Z0-9_]+$/;
  var active = null; // the one call in progress (INVALID_METHOD_TRANSACTION)

  function pascal(code) {
    return code.toLowerCase().replace(/(^|_)([a-z0-9])/g, function (_, __, c) {
      return c.toUpperCase();
    });
  }

  // PublicError.X.UserCancelError -> an Error with code "USER_CANCEL".
  function SdkError(code, message, extra) {
    if (!SCREAMING.test(code || "")) code = "UNKNOWN";
    var err = new Error(message || code);
    err.name = pascal(code) + "Error";
    err.code = code;
    Object.keys(extra || {}).forEach(function (k) {
      if (extra[k] !== undefined && extra[k] !== null) err[k] = extra[k];
    });
    return err;
  }

  function narrowViewport() {
    return global.innerWidth < NARROW;
  }

  function randomNonce() {
    var bytes = new Uint8Array(16);
    global.crypto.getRandomValues(bytes);
    return Array.prototype.map.call(bytes, function (b) {
      return ("0" + b.toString(16)).slice(-2);
    }).join("");
  }

  function query(params) {
    var parts = [];
    Object.keys(params).forEach(function (key) {
      var value = params[key];
      if (value === undefined || value === null) return;
      if (typeof value === "object") value = JSON.stringify(value);
      parts.push(encodeURIComponent(key) + "=" + encodeURIComponent(String(value)));
    });
    return parts.join("&");
  }

  // JSON from the sandbox; a refusal becomes the typed error, a failure UNKNOWN.
  function api(path, options) {
    return global.fetch(SANDBOX + path, options).then(function (resp) {
      return resp.json().then(function (data) {
        if (!resp.ok) throw SdkError(data.code, data.message);
        return data;
      });
    }, function () {
      throw SdkError("UNKNOWN", "the sandbox could not be reached");
    });
  }

  // A call that opens no window still counts as "running" for the guard.
  function guarded(run) {
    if (active) return Promise.reject(SdkError("INVALID_METHOD_TRANSACTION"));
    var token = { quiet: true };
    active = token;
    return Promise.resolve().then(run).then(function (value) {
      if (active === token) active = null;
      return value;
    }, function (err) {
      if (active === token) active = null;
      throw err;
    });
  }

  function sameBase(url, base) {
    if (!url || !base) return false;
    try {
      var a = new URL(url), b = new URL(base);
      return a.origin === b.origin && a.pathname === b.pathname;
    } catch (e) {
      return false;
    }
  }

  function sameOrigin(url, origin) {
    try {
      return new URL(url).origin === origin;
    } catch (e) {
      return false;
    }
  }

  // Open one SDK call's window; the promise settles when the window ends here.
  function openWindow(request, owner) {
    if (active) return Promise.reject(SdkError("INVALID_METHOD_TRANSACTION"));
    var call = { nonce: randomNonce(), owner: owner || null, done: false };
    active = call;
    request.nonce = call.nonce;
    request.origin = global.location.origin;
    request.returnUrl = global.location.href;
    request.viewport = narrowViewport() ? "narrow" : "wide";
    return new Promise(function (resolve, reject) {
      call.resolve = resolve;
      call.reject = reject;
      api("/_hosted/api/windows", {
        method: "POST",
        headers: { "Content-Type": "application/json" },
        body: JSON.stringify(request)
      }).then(function (win) {
        if (call.done) return; // destroyed meanwhile
        call.win = win;
        if (win.transport === "page") {
          global.location.assign(win.url); // the page leaves; nothing settles here
          return;
        }
        showOverlay(call, win);
      }, function (err) {
        settle(call, err);
      });
    });
  }

  function settle(call, err, value) {
    if (call.done) return;
    call.done = true;
    if (active === call) active = null;
    if (call.cleanup) call.cleanup();
    if (err) call.reject(err);
    else call.resolve(value);
  }

  function style(el, props) {
    Object.keys(props).forEach(function (k) { el.style[k] = props[k]; });
  }

  function showOverlay(call, win) {
    var doc = global.document;
    var before = doc.activeElement;
    var full = narrowViewport();
    var backdrop = doc.createElement("div");
    backdrop.setAttribute("data-toss-sandbox", "overlay");
    style(backdrop, {
      position: "fixed", top: "0", left: "0", right: "0", bottom: "0",
      background: "rgba(0, 0, 0, 0.55)", zIndex: "2147483647",
      display: "flex", alignItems: "center", justifyContent: "center"
    });
    var dialog = doc.createElement("div");
    dialog.setAttribute("role", "dialog");
    dialog.setAttribute("aria-modal", "true");
    dialog.setAttribute("aria-label", "토스페이먼츠 결제창 (sandbox)");
    style(dialog, {
      position: "relative", background: "#ffffff", display: "flex",
      flexDirection: "column", boxShadow: "0 8px 32px rgba(0, 0, 0, 0.35)",
      width: full ? "100%" : "min(520px, 96vw)", height: full ? "100%" : "min(760px, 92vh)",
      borderRadius: full ? "0" : "12px", overflow: "hidden"
    });
    var close = doc.createElement("button");
    close.type = "button";
    close.textContent = "×";
    close.setAttribute("aria-label", "닫기");
    style(close, {
      alignSelf: "flex-end", margin: "4px", width: "44px", height: "44px",
      fontSize: "28px", lineHeight: "1", border: "0", background: "transparent",
      color: "#191f28", cursor: "pointer"
    });
    var frame = doc.createElement("iframe");
    frame.title = "토스페이먼츠 결제창";
    frame.src = win.url;
    frame.setAttribute("allow", "payment");
    style(frame, { border: "0", width: "100%", flex: "1 1 auto" });
    dialog.appendChild(close);
    dialog.appendChild(frame);
    backdrop.appendChild(dialog);
    doc.body.appendChild(backdrop);
    call.frame = frame;

    function onMessage(event) {
      if (event.origin !== SANDBOX_ORIGIN || event.source !== frame.contentWindow) return;
      var msg = event.data;
      if (!msg || msg.source !== "toss-sandbox" || msg.nonce !== call.nonce) return;
      handle(call, msg);
    }
    function onKey(event) {
      if (event.key === "Escape") { // inside the frame, window.js posts "close"
        event.preventDefault();
        settle(call, SdkError("USER_CANCEL"));
      } else if (event.key === "Tab" && event.shiftKey && doc.activeElement === close) {
        event.preventDefault();
        frame.focus();
      }
    }
    function onFocus(event) {
      // Modal: focus that lands on the page behind goes back to the dialog.
      if (!dialog.contains(event.target)) close.focus();
    }
    close.addEventListener("click", function () { settle(call, SdkError("USER_CANCEL")); });
    global.addEventListener("message", onMessage);
    doc.addEventListener("keydown", onKey, true);
    doc.addEventListener("focusin", onFocus, true);
    call.cleanup = function () {
      global.removeEventListener("message", onMessage);
      doc.removeEventListener("keydown", onKey, true);
      doc.removeEventListener("focusin", onFocus, true);
      if (backdrop.parentNode) backdrop.parentNode.removeChild(backdrop);
      if (before && typeof before.focus === "function") before.focus();
    };
    frame.focus();
  }

  function handle(call, msg) {
    var win = call.win;
    if (msg.type === "resolve") {
      settle(call, null, msg.value === null ? undefined : msg.value);
    } else if (msg.type === "reject") {
      settle(call, SdkError(msg.code, msg.message, { orderId: msg.orderId }));
    } else if (msg.type === "close") {
      settle(call, SdkError("USER_CANCEL"));
    } else if (msg.type === "navigate") {
      var allowed = [win.successUrl, win.failUrl, win.redirectUrl, global.location.href];
      if (!allowed.some(function (base) { return sameBase(msg.url, base); })) {
        settle(call, SdkError("UNKNOWN", "unexpected destination"));
        return;
      }
      global.location.assign(msg.url); // redirect mode: the merchant's page moves on
    } else if (msg.type === "redirect") {
      // redirectUrl?code&customerKey with the browser's cookies (same origin as
      // this page), then the window goes on with its next step.
      if (!sameBase(msg.url, win.redirectUrl) || !sameOrigin(msg.next, SANDBOX_ORIGIN)) {
        settle(call, SdkError("UNKNOWN", "unexpected redirect"));
        return;
      }
      global.fetch(msg.url, { credentials: "include", redirect: "follow" }).then(function (resp) {
        if (!resp.ok) throw SdkError("UNKNOWN", "redirectUrl answered " + resp.status);
        if (!call.done) call.frame.src = msg.next;
      }).catch(function (err) {
        settle(call, err && err.code ? err : SdkError("UNKNOWN", "redirectUrl failed"));
      });
    }
  }

  // Back from a window that took the page (the back button, bfcache): that call is
  // over; the merchant's page may start another one.
  global.addEventListener("pageshow", function (event) {
    if (event.persisted && active && !active.quiet) {
      settle(active, SdkError("USER_CANCEL"));
    }
  });

  // payment.destroy(): close its open window; its promise rejects ABORTED.
  function abortCalls(owner) {
    if (active && active.owner === owner && !active.quiet) {
      settle(active, SdkError("PAYMENT_REQUEST_ABORTED"));
    }
    return Promise.resolve();
  }
