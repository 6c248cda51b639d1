/* Toss Payments SDK v2 served by the offline sandbox (contract §6.1).
 * Same interface as https://js.tosspayments.com/v2/standard, as the typings of npm
 * @tosspayments/tosspayments-sdk 2.8.1 declare it: TossPayments(clientKey) ->
 * { widgets, brandpay, payment }, and TossPayments.ANONYMOUS. The official loader
 * loadTossPayments(clientKey, {src: "<sandbox>/v2/standard"}) loads it unmodified. */
(function (global) {
  "use strict";
{% include "_transport.js" %}
  var ANONYMOUS = {{ anonymous|tojson }};
  var CUSTOMER_KEY = /^[A-Za-z0-9\-_=.@]{2,50}$/;
  var SECRET_KEY = /^(test|live)_g?sk_/;
  var CLIENT_KEY = /^(test|live)_g?ck_[A-Za-z0-9_]+$/;

  // The synchronous checks of brandpay()/payment()/widgets() (the typings' @throw);
  // the sandbox repeats them and checks that the key belongs to a merchant.
  function checkKeys(clientKey, customerKey, kind) {
    if (typeof clientKey !== "string" || SECRET_KEY.test(clientKey)) {
      throw SdkError(typeof clientKey === "string" ? "INSECURE_KEY_USAGE" : "INVALID_CLIENT_KEY");
    }
    if (!CLIENT_KEY.test(clientKey)) throw SdkError("INVALID_CLIENT_KEY");
    var widgetKey = clientKey.indexOf("_gck_") !== -1;
    if (kind === "widgets" && !widgetKey) throw SdkError("NOT_SUPPORTED_API_INDIVIDUAL_KEY");
    if (kind !== "widgets" && widgetKey) throw SdkError("NOT_SUPPORTED_WIDGET_KEY");
    if (typeof customerKey === "string" && SECRET_KEY.test(customerKey)) {
      throw SdkError("INSECURE_KEY_USAGE");
    }
    if (customerKey === ANONYMOUS) {
      if (kind === "brandpay") throw SdkError("INVALID_CUSTOMER_KEY");
      return;
    }
    if (typeof customerKey !== "string" || !CUSTOMER_KEY.test(customerKey)) {
      throw SdkError("INVALID_CUSTOMER_KEY");
    }
  }

  function brandpay(clientKey, init) {
    init = init || {};
    checkKeys(clientKey, init.customerKey, "brandpay");
    var base = { clientKey: clientKey, customerKey: init.customerKey, redirectUrl: init.redirectUrl };

    function call(method, params) {
      var request = { method: "brandpay." + method, params: params };
      Object.keys(base).forEach(function (k) { request[k] = base[k]; });
      return openWindow(request);
    }

    return {
      requestPayment: function (paymentRequest) { return call("requestPayment", paymentRequest); },
      changePassword: function () { return call("changePassword"); },
      addPaymentMethod: function () { return call("addPaymentMethod"); },
      openSettings: function () { return call("openSettings"); },
      changeOneTouchPay: function () { return call("changeOneTouchPay"); },
      isOneTouchPayEnabled: function () {
        return guarded(function () {
          var params = { sdk: "v2", clientKey: clientKey, customerKey: init.customerKey, redirectUrl: init.redirectUrl };
          return api("/_hosted/api/one-touch?" + query(params)).then(function (data) {
            return { isEnabled: data.isEnabled };
          });
        });
      },
      requestBillingAuth: function () { return call("requestBillingAuth"); }
    };
  }

  function payment(clientKey, init) {
    init = init || {};
    checkKeys(clientKey, init.customerKey, "payment");
    var self = {};

    function call(method, params) {
      var request = { method: "payment." + method, params: params, clientKey: clientKey, customerKey: init.customerKey };
      return openWindow(request, self);
    }

    self.requestPayment = function (paymentRequest) { return call("requestPayment", paymentRequest); };
    self.requestBillingAuth = function (billingAuthRequest) {
      return call("requestBillingAuth", billingAuthRequest);
    };
    // Safe with nothing open (the typings' TossPaymentsPayment.destroy says so).
    self.destroy = function () { return abortCalls(self); };
    return self;
  }

  // Not used by this product: the objects exist as typed; every call rejects.
  function widgets(clientKey, init) {
    init = init || {};
    checkKeys(clientKey, init.customerKey, "widgets");
    function notEmulated() {
      return Promise.reject(SdkError("SANDBOX_NOT_EMULATED", "payment widgets are not emulated by the sandbox"));
    }
    return {
      setAmount: notEmulated,
      renderPaymentMethods: notEmulated,
      requestPayment: notEmulated,
      requestPaymentWindow: notEmulated,
      renderAgreement: notEmulated,
      renderPaymentWindow: notEmulated
    };
  }

  function TossPayments(clientKey) {
    return {
      widgets: function (params) { return widgets(clientKey, params); },
      brandpay: function (params) { return brandpay(clientKey, params); },
      payment: function (params) { return payment(clientKey, params); }
    };
  }
  TossPayments.ANONYMOUS = ANONYMOUS;

  global.TossPayments = TossPayments;
})(window);
