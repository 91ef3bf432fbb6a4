// Long chats: scrolling to the top (or clicking "Show earlier messages") loads the earlier
// messages in place, keeping what is on screen where it was. Without this script the link
// opens the page of earlier messages.
(function () {
  "use strict";

  const conversation = document.getElementById("conversation");
  const scroller = document.getElementById("main") || document.scrollingElement;
  if (!conversation) {
    return;
  }
  let loading = false;

  function load() {
    const link = document.getElementById("earlier-link");
    if (!link || loading) {
      return;
    }
    loading = true;
    const label = link.textContent;
    link.textContent = link.dataset.loading;
    fetch(link.href.split("#")[0], {
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        const holder = document.createElement("div");
        holder.innerHTML = data.html; // server-rendered, escaped and sanitized bubbles
        const paragraph = link.closest("p");
        const anchor = paragraph.nextElementSibling;
        const before = anchor ? anchor.getBoundingClientRect().top : 0;
        paragraph.after(...holder.children);
        // Keep the message that was on screen where it was (whether or not the browser's
        // own scroll anchoring already moved it).
        if (anchor) {
          scroller.scrollTop += anchor.getBoundingClientRect().top - before;
        }
        if (data.earlier) {
          const url = new URL(link.href);
          url.searchParams.set("before", data.earlier);
          link.href = url.toString();
          link.textContent = label;
        } else {
          paragraph.remove();
        }
      })
      .catch(function () {
        link.textContent = link.dataset.failed;
      })
      .finally(function () {
        loading = false;
      });
  }

  conversation.addEventListener("click", function (event) {
    if (event.target.closest("#earlier-link")) {
      event.preventDefault();
      load();
    }
  });

  if ("IntersectionObserver" in window) {
    const observer = new IntersectionObserver(
      function (entries) {
        if (entries.some(function (entry) { return entry.isIntersecting; })) {
          load();
        }
      },
      { root: scroller === document.scrollingElement ? null : scroller, rootMargin: "200px 0px 0px 0px" }
    );
    const watch = function () {
      const link = document.getElementById("earlier-link");
      if (link) {
        observer.observe(link.closest("p"));
      }
    };
    // Start after the page has scrolled to its newest message (or to the searched one).
    window.addEventListener("load", watch);
  }
})();
