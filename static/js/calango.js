// Site-wide behaviour. Every form works without this.
(function () {
  "use strict";
  // Lets CSS reveal controls that only work with the script (copy buttons).
  document.documentElement.classList.add("js");
  // The chat list is a <details> drawer (closed on phones). Browsers that cannot show its
  // content while closed (no ::details-content) get it opened on wide screens.
  const drawer = document.getElementById("sidebar");
  const canShowClosed = window.CSS && CSS.supports && CSS.supports("selector(::details-content)");
  if (drawer && drawer.tagName === "DETAILS" && !canShowClosed &&
      window.matchMedia("(min-width: 761px)").matches) {
    drawer.open = true;
  }
})();
