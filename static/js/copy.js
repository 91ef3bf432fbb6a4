// Copy buttons on code blocks: the renderer puts a head on each block (with its language);
// this adds a Copy button there, also in answers that arrive later. Copying a whole message
// is chat.js's (its button is in the message's HTML). Without this script nothing is added.
(function () {
  "use strict";

  const conversation = document.getElementById("conversation");
  if (!conversation) {
    return;
  }
  const label = conversation.dataset.copyCode || "Copy";
  const copied = conversation.dataset.copied || "Copied";

  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.className = "visually-hidden";
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
    return Promise.resolve();
  }

  function addButtons(root) {
    root.querySelectorAll(".code-block > .code-head").forEach(function (head) {
      if (head.querySelector(".code-copy")) {
        return;
      }
      const button = document.createElement("button");
      button.type = "button";
      button.className = "btn btn-ghost btn-small code-copy";
      button.textContent = label;
      const lang = head.querySelector(".code-lang");
      if (lang) {
        button.setAttribute("aria-label", label + " (" + lang.textContent + ")");
      }
      head.append(button);
    });
  }

  conversation.addEventListener("click", function (event) {
    const button = event.target.closest(".code-copy");
    if (!button) {
      return;
    }
    const code = button.closest(".code-block").querySelector("pre code, pre");
    copyText(code ? code.textContent : "").then(function () {
      button.textContent = copied;
      setTimeout(function () {
        button.textContent = label;
      }, 1500);
    });
  });

  addButtons(conversation);
  new MutationObserver(function (changes) {
    changes.forEach(function (change) {
      change.addedNodes.forEach(function (node) {
        if (node.nodeType === 1) {
          addButtons(node);
        }
      });
    });
  }).observe(conversation, { childList: true, subtree: true });
})();
