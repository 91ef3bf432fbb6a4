// Follows a background import: polls its status, moves the bar, reloads when it ends.
// Without JavaScript the page refreshes itself (<noscript> meta refresh).
(function () {
  "use strict";
  var card = document.querySelector("[data-job-url]");
  if (!card) return;
  var bar = document.getElementById("job-progress");
  var label = document.getElementById("job-percent");
  var template = label ? label.textContent.replace(/\d+%/, "{p}%") : "{p}%";
  function poll() {
    fetch(card.getAttribute("data-job-url"), { headers: { Accept: "application/json" } })
      .then(function (response) { return response.json(); })
      .then(function (data) {
        if (bar) bar.value = data.percent;
        if (label) label.textContent = template.replace("{p}", data.percent);
        if (data.finished) window.location.reload();
        else window.setTimeout(poll, 1000);
      })
      .catch(function () { window.setTimeout(poll, 3000); });
  }
  window.setTimeout(poll, 500);
})();
