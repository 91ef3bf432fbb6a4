// Starter prompts on an empty chat: a click puts the prompt in the composer to edit and send
// (without the script, the button posts it at once).
(function () {
  "use strict";
  var box = document.getElementById("starters");
  var content = document.getElementById("content");
  if (!box || !content) return;
  box.addEventListener("click", function (event) {
    var button = event.target.closest("button.starter");
    if (!button) return;
    event.preventDefault();
    content.value = button.value;
    content.focus();
    content.dispatchEvent(new Event("input", { bubbles: true }));
  });
})();
