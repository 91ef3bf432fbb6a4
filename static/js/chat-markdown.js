// Live Markdown for an answer being written: the same parser options as the server's
// (calango/rendering.py: CommonMark, tables, strikethrough, line breaks, no raw HTML) and the
// same sanitising allow-lists (sent by the page in data-md-policy), applied by DOMPurify.
// Highlighting comes with the final, server-rendered message.
(function () {
  "use strict";

  const holder = document.getElementById("conversation");
  if (!holder || !window.markdownit || !window.DOMPurify || !holder.dataset.mdPolicy) {
    return; // chat.js then shows the text as plain text, as before
  }
  const policy = JSON.parse(holder.dataset.mdPolicy);
  const md = window.markdownit("commonmark", { html: false, breaks: true }).enable([
    "table",
    "strikethrough",
  ]);
  const purify = window.DOMPurify();
  const perTag = policy.attributes;
  const allAttributes = new Set();
  Object.keys(perTag).forEach(function (tag) {
    perTag[tag].forEach(function (name) {
      allAttributes.add(name);
    });
  });
  const schemes = new Set(policy.schemes.map(function (s) { return s + ":"; }));

  purify.addHook("uponSanitizeAttribute", function (node, data) {
    const tag = node.nodeName.toLowerCase();
    const allowed = perTag[tag] || [];
    if (allowed.indexOf(data.attrName) < 0) {
      data.keepAttr = false;
      return;
    }
    if (data.attrName === "class") {
      // Only Pygments token classes and language-* markers, as on the server.
      const kept = data.attrValue.split(/\s+/).filter(function (c) {
        return /^[A-Za-z0-9]+$/.test(c) || c.indexOf("language-") === 0;
      });
      if (!kept.length) {
        data.keepAttr = false;
      } else {
        data.attrValue = kept.join(" ");
      }
    }
    if (data.attrName === "href") {
      let scheme = null;
      try {
        scheme = new URL(data.attrValue, "http://relative.invalid/").protocol;
      } catch (e) {
        data.keepAttr = false;
        return;
      }
      if (!schemes.has(scheme)) {
        data.keepAttr = false;
      }
    }
  });
  purify.addHook("afterSanitizeAttributes", function (node) {
    if (node.nodeName === "A") {
      node.setAttribute("rel", policy.rel);
    }
  });
  const config = {
    ALLOWED_TAGS: policy.tags,
    ALLOWED_ATTR: Array.from(allAttributes),
    ALLOW_DATA_ATTR: false,
    ALLOW_ARIA_ATTR: false,
    RETURN_DOM_FRAGMENT: true,
  };

  // A sanitised fragment for ``text`` (never a string parsed as HTML by the page itself).
  window.CalangoMarkdown = {
    render: function (text) {
      return purify.sanitize(md.render(text), config);
    },
  };
})();
