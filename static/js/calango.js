// Site-wide behaviour: confirmation of destructive forms. Every form works without this.
(function () {
  "use strict";
  // Lets CSS reveal controls that only work with the script (copy buttons).
  document.documentElement.classList.add("js");
  document.addEventListener("submit", function (event) {
    const form = event.target;
    const question = form.getAttribute && form.getAttribute("data-confirm");
    if (question && !window.confirm(question)) {
      event.preventDefault();
    }
  }, true);
})();
