(function () {
  "use strict";
  var form = document.querySelector("form");
  if (!form) { return; }
  form.addEventListener("submit", function () {
    var button = form.querySelector("button");
    button.disabled = true;
    button.textContent = "Signing in\u2026";
  });
})();
