// Live Markdown for an answer being written: the same parser options as the server's
// (calango/rendering.py: CommonMark, tables, strikethrough, line breaks, linkify, no raw HTML,
// code block heads, table wrappers, links in a new tab) and the
// same sanitising allow-lists (sent by the page in data-md-policy), applied by DOMPurify.
// Highlighting comes with the final, server-rendered message.
(function () {
  "use strict";

  const holder = document.getElementById("conversation");
  if (!holder || !window.markdownit || !window.DOMPurify || !holder.dataset.mdPolicy) {
    return; // chat.js then shows the text as plain text, as before
  }
  const policy = JSON.parse(holder.dataset.mdPolicy);
  const md = window.markdownit("commonmark", { html: false, breaks: true, linkify: true }).enable([
    "table",
    "strikethrough",
    "linkify",
  ]);
  // The server's shape (calango/rendering.py): a code block under a head naming its language
  // (copy.js adds the Copy button), a table in a wrapper that scrolls sideways.
  const LANG_LIMIT = 30;
  const defaultFence = md.renderer.rules.fence;
  md.renderer.rules.fence = function (tokens, idx, options, env, self) {
    const info = md.utils.unescapeAll(tokens[idx].info).trim();
    const lang = info ? md.utils.escapeHtml(Array.from(info.split(/\s+/)[0]).slice(0, LANG_LIMIT).join("")) : "";
    const head = lang ? '<span class="code-lang">' + lang + "</span>" : "";
    return (
      '<div class="code-block"><div class="code-head">' + head + "</div>" +
      defaultFence(tokens, idx, options, env, self) + "</div>\n"
    );
  };
  md.renderer.rules.table_open = function (tokens, idx, options, env, self) {
    return '<div class="table-wrap">' + self.renderToken(tokens, idx, options);
  };
  md.renderer.rules.table_close = function (tokens, idx, options, env, self) {
    return self.renderToken(tokens, idx, options) + "</div>\n";
  };
  const ownClasses = new Set(policy.classes);
  const languageClass = /^language-[\p{L}\p{N}\p{M}_+#.-]{1,40}$/u;
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
      // Only Pygments token classes, language-* markers and the wrappers, as on the server.
      const kept = data.attrValue.split(/\s+/).filter(function (c) {
        return /^[A-Za-z0-9]+$/.test(c) || languageClass.test(c) || ownClasses.has(c);
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
      Object.keys(policy.linkAttributes).forEach(function (name) {
        node.setAttribute(name, policy.linkAttributes[name]); // target=_blank, as nh3 sets it
      });
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
