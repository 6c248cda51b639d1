// The methods page (issue 14): the page is shown at once; Toss's list is loaded from
// the portal's JSON endpoint afterwards, so a slow Toss shows a loading state, not a
// blank page. Card colours come from Toss's `color.background` (set through the DOM:
// the CSP allows no inline style).
(function () {
  "use strict";
  var box = document.getElementById("methods-list");
  var HEX = /^#[0-9a-fA-F]{3,8}$/;

  function paint(root) {
    Array.prototype.forEach.call(root.querySelectorAll("[data-color]"), function (el) {
      var color = el.getAttribute("data-color");
      if (HEX.test(color)) el.style.backgroundColor = color;
    });
  }

  if (!box) return;
  paint(box);
  if (!box.dataset.url) return;
  window.fetch(box.dataset.url, {
    credentials: "same-origin",
    headers: { Accept: "application/json" }
  }).then(function (resp) {
    return resp.json();
  }).then(function (data) {
    box.innerHTML = data.html;
    paint(box);
  }).catch(function () {
    var p = document.createElement("p");
    p.setAttribute("role", "alert");
    p.textContent = box.dataset.msgFailed;
    box.textContent = "";
    box.appendChild(p);
  }).then(function () {
    box.setAttribute("aria-busy", "false");
  });
})();
