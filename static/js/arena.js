// A Rinha's round page: every column streams its answer in place (Server-Sent Events carrying
// the server's sanitised Markdown HTML), Stop without leaving the page, and once every column
// is done the page's vote and follow-up forms are fetched in. Without this script the page
// refreshes itself until every answer is done, and every form posts and redirects.
(function () {
  "use strict";

  const page = document.querySelector(".arena-round");
  if (!page) {
    return;
  }
  const open = new Set();

  function typing() {
    const span = document.createElement("span");
    span.className = "typing";
    span.setAttribute("aria-hidden", "true");
    span.append(document.createElement("i"), document.createElement("i"), document.createElement("i"));
    return span;
  }

  // The server's HTML: the Markdown renderer's sanitised output, or a rendered template.
  function fragment(html) {
    return document.createRange().createContextualFragment(html);
  }

  function refreshPage() {
    fetch(window.location.pathname, { headers: { Accept: "text/html" } })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (html) {
        if (!html) {
          return;
        }
        const fresh = new DOMParser().parseFromString(html, "text/html").querySelector(".arena-round");
        if (fresh) {
          page.replaceChildren(...fresh.childNodes);
          page.querySelectorAll(".md.streaming[data-stream-url]").forEach(follow);
          bindStops();
        }
      })
      .catch(function () { /* the page still works: a reload shows the same */ });
  }

  function follow(box) {
    const source = new EventSource(box.dataset.streamUrl);
    open.add(source);
    source.onmessage = function (event) {
      const data = JSON.parse(event.data);
      box.replaceChildren(fragment(data.html), typing());
    };
    source.addEventListener("done", function (event) {
      source.close();
      open.delete(source);
      const data = JSON.parse(event.data);
      const article = box.closest("article");
      if (article && data.html) {
        article.replaceWith(fragment(data.html));
      }
      if (open.size === 0) {
        refreshPage();
      }
    });
    // A dropped connection reconnects by itself and gets the whole answer so far again.
  }

  function bindStops() {
    page.querySelectorAll(".arena-answer .btn-stop, .arena-stop-all").forEach(function (button) {
      const form = button.closest("form");
      if (!form || form.dataset.bound) {
        return;
      }
      form.dataset.bound = "1";
      form.addEventListener("submit", function (event) {
        event.preventDefault();
        button.disabled = true;
        fetch(form.action, {
          method: "POST",
          body: new FormData(form),
          headers: { Accept: "application/json" },
        }).catch(function () { form.submit(); });
      });
    });
  }

  page.querySelectorAll(".md.streaming[data-stream-url]").forEach(follow);
  bindStops();
})();
