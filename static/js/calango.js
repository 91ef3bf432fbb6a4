// Site-wide behaviour. Every form works without this.
(function () {
  "use strict";
  // Lets CSS reveal controls that only work with the script (copy buttons).
  document.documentElement.classList.add("js");
})();
