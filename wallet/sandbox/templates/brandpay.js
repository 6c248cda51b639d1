/* Toss BrandPay v1 SDK shim served by the offline sandbox (contract §6).
 * Same interface as https://js.tosspayments.com/v1/brandpay (typings: npm
 * @tosspayments/brandpay__types 1.16.1); the official loader loadBrandPay(...,
 * {src}) loads it. Windows open like v2's (an overlay iframe, the whole page on a
 * phone), or by top-level navigation with SANDBOX_V1_TRANSPORT "navigate". */
(function (global) {
  "use strict";
{% include "_transport.js" %}
  var BASE = SANDBOX;
  var SCOPE_LABELS = {{ labels|tojson }};
  var TRANSPORT = {{ transport|tojson }};
  var BrandPayError = SdkError;

  function getJson(path, params, method) {
    return fetch(BASE + path + "?" + query(params), { method: method || "GET" })
      .then(function (resp) {
        return resp.json().then(function (data) {
          if (!resp.ok) throw BrandPayError(data.code, data.message);
          return data;
        });
      });
  }

  function never() {
    return new Promise(function () {});
  }

  function BrandPay(clientKey, customerKey, options) {
    if (!(this instanceof BrandPay)) return new BrandPay(clientKey, customerKey, options);
    options = options || {};
    var keys = { clientKey: clientKey, customerKey: customerKey };
    var self = this;

    function withSession(extra) {
      var params = { clientKey: clientKey, customerKey: customerKey,
                     redirectUrl: options.redirectUrl, returnUrl: global.location.href };
      Object.keys(extra || {}).forEach(function (k) { params[k] = extra[k]; });
      return params;
    }

    // navigate transport: the SDK rejects an unregistered redirectUrl before
    // opening anything, then the page goes to the hosted window.
    function navigate(path, extra) {
      var params = withSession(extra);
      return getJson("/_hosted/api/session", params).then(function (session) {
        params.redirectUrl = session.redirectUrl;
        global.location.assign(BASE + path + "?" + query(params));
        return never();
      });
    }

    function open(method, params, path, extra) {
      if (TRANSPORT === "navigate") return navigate(path, extra);
      return openWindow({
        method: "v1." + method, params: params, clientKey: clientKey,
        customerKey: customerKey, redirectUrl: options.redirectUrl
      });
    }

    this.requestPayment = function (params) {
      params = params || {};
      if (TRANSPORT === "overlay") return open("requestPayment", params);
      if (!params.successUrl || !params.failUrl) {
        // navigate transport: a promise cannot survive leaving the page.
        return Promise.reject(BrandPayError("INVALID_PARAMETERS",
          "successUrl and failUrl are required with SANDBOX_V1_TRANSPORT=navigate"));
      }
      if (typeof params.amount !== "number" || !params.orderId || !params.orderName) {
        return Promise.reject(BrandPayError("INVALID_PARAMETERS", "amount, orderId, orderName"));
      }
      return navigate("/_hosted/pay", {
        amount: params.amount, orderId: params.orderId, orderName: params.orderName,
        successUrl: params.successUrl, failUrl: params.failUrl, methodId: params.methodId,
        taxFreeAmount: params.taxFreeAmount, customerEmail: params.customerEmail,
        cardInstallmentPlan: params.cardInstallmentPlan
      });
    };
    // Resolves {selectedMethodId, cards, accounts} (AddPaymentMethodResult).
    this.addPaymentMethod = function (methodType) {
      return open("addPaymentMethod", { methodType: methodType || "미선택" },
        "/_hosted/register", { methodType: methodType || "미선택" });
    };
    this.requestAgreement = function (termScope) {
      var scopes = Array.isArray(termScope) ? termScope : [termScope || "회원가입"];
      var codes = scopes.map(function (s) { return SCOPE_LABELS[s] || s; });
      return open("requestAgreement", { scope: scopes },
        "/_hosted/register", { mode: "agreement", scope: codes.join(",") });
    };
    this.openSettings = function () {
      return open("openSettings", {}, "/_hosted/settings", {});
    };
    this.setupPassword = this.openSettings;
    this.setupOneTouchPay = this.openSettings;
    this.setupBiometricAuth = this.openSettings;
    // Sandbox customers are always authenticated (fixed test PIN).
    this.authenticate = function () { return Promise.resolve(); };
    this.requestPaymentAuth = function () { return Promise.resolve(); };
    this.requestPasswordAuth = function () { return Promise.resolve(); };
    this.getPaymentMethods = function () { return getJson("/_hosted/api/methods", keys); };
    this.isOneTouchPayEnabled = function () {
      return getJson("/_hosted/api/one-touch", keys).then(function (d) { return d.isEnabled; });
    };
    this.toggleOneTouchPay = function () { return getJson("/_hosted/api/one-touch", keys, "POST"); };
    this.isBiometricAuthEnabled = function () { return Promise.resolve(false); };
    this.toggleBiometricAuth = function () { return Promise.resolve({ isEnabled: false }); };
    this.setupCashReceipt = function () { return Promise.resolve({ type: "미발행" }); };
    this.changePassword = function () {
      throw BrandPayError("V1_METHOD_NOT_SUPPORTED", "changePassword is v2 only");
    };
    this.changeOneTouchPay = function () {
      throw BrandPayError("V1_METHOD_NOT_SUPPORTED", "changeOneTouchPay is v2 only");
    };

    // A minimal payment-methods widget: radio buttons of the saved methods.
    this.createPaymentMethodsWidget = function (init) {
      var state = { amount: init && init.amount, methodId: undefined, element: null };
      return {
        render: function (selector, opts) {
          state.element = document.querySelector(selector);
          state.methodId = opts && opts.methodId;
          return self.getPaymentMethods().then(function (methods) {
            var all = methods.cards.concat(methods.accounts);
            state.methodId = state.methodId || methods.selectedMethodId;
            state.element.textContent = "";
            all.forEach(function (m) {
              var label = document.createElement("label");
              var radio = document.createElement("input");
              radio.type = "radio"; radio.name = "brandpay-method"; radio.value = m.id;
              radio.checked = m.id === state.methodId;
              radio.addEventListener("change", function () { state.methodId = m.id; });
              label.appendChild(radio);
              label.appendChild(document.createTextNode(" " + m.alias + " " + (m.cardNumber || m.accountNumber)));
              state.element.appendChild(label);
            });
            return { on: function () {} };
          });
        },
        updateAmount: function (amount) { state.amount = amount; },
        getPaymentParams: function () { return { methodId: state.methodId, amount: state.amount }; },
        destroy: function () {
          if (state.element) state.element.textContent = "";
          return Promise.resolve();
        }
      };
    };
  }

  global.BrandPay = BrandPay;
  global.Brandpay = BrandPay;  // contract §6: the documented global name
})(window);
