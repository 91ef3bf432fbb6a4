// Hatch page: say that the model is working while the form is posted (the page works without it).
(function () {
  "use strict";
  var form = document.getElementById("hatch-form");
  if (!form) return;
  form.addEventListener("submit", function () {
    var status = document.getElementById("hatch-status");
    var button = document.getElementById("hatch-submit");
    if (status) status.textContent = form.getAttribute("data-busy") || "";
    if (button) {
      // Disabled after the browser has taken the submission, so the click still posts.
      setTimeout(function () { button.disabled = true; }, 0);
    }
  });
})();
