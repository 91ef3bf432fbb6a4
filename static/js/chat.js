// The chat page: send without reloading, watch answers stream in (Server-Sent Events), Stop,
// copy, and show only the chosen provider's models. Without this script the same forms post
// and redirect, and a page showing an answer being written refreshes itself.
(function () {
  "use strict";

  const composer = document.getElementById("composer");
  const conversation = document.getElementById("conversation");
  if (!composer || !conversation) {
    return;
  }
  const textarea = composer.querySelector("textarea");
  const sendButton = document.getElementById("send");
  const errorBox = document.getElementById("composer-error");
  const providerSelect = document.getElementById("provider");
  const modelSelect = document.getElementById("model");
  const scroller = document.getElementById("main") || document.scrollingElement;
  const streams = new Set();
  const LIVE_MS = 60;

  // --- provider → models -----------------------------------------------------------------
  // Each option's value is a (provider, model) pair, so exactly one option is selected even
  // when providers share model names. Switching provider keeps the model's name if the new
  // provider offers it too (OpenAI → OpenRouter), else takes its first model.
  function filterModels() {
    if (!providerSelect || !modelSelect) {
      return;
    }
    const provider = providerSelect.value;
    const current = modelSelect.options[modelSelect.selectedIndex];
    const currentName = current ? current.textContent : "";
    let firstVisible = null;
    let sameName = null;
    let selectedVisible = false;
    modelSelect.querySelectorAll("optgroup").forEach(function (group) {
      const visible = group.label === provider;
      group.hidden = !visible;
      group.disabled = !visible;
      if (visible) {
        group.querySelectorAll("option").forEach(function (option) {
          firstVisible = firstVisible || option;
          if (!sameName && option.textContent === currentName) {
            sameName = option;
          }
          selectedVisible = selectedVisible || option.selected;
        });
      }
    });
    if (!selectedVisible && (sameName || firstVisible)) {
      (sameName || firstVisible).selected = true;
    }
  }
  if (providerSelect) {
    providerSelect.addEventListener("change", filterModels);
    filterModels();
  }

  // --- helpers -----------------------------------------------------------------------------
  function nearBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight < 120;
  }
  function scrollToBottom() {
    scroller.scrollTop = scroller.scrollHeight;
  }
  function showError(message, link) {
    errorBox.textContent = message;
    if (link && link.url) {
      const a = document.createElement("a");
      a.href = link.url;
      a.textContent = link.label;
      errorBox.append(" ", a);
    }
    errorBox.hidden = false;
    textarea.setAttribute("aria-invalid", "true");
  }
  function hideError() {
    errorBox.hidden = true;
    errorBox.textContent = "";
    textarea.setAttribute("aria-invalid", "false");
  }
  function setBusy() {
    const busy = streams.size > 0 || composer.dataset.sending === "1";
    composer.dataset.streaming = streams.size > 0 ? "1" : ""; // read by composer.js
    if (sendButton && !sendButton.hasAttribute("data-disabled")) {
      sendButton.disabled = busy;
    }
  }

  // --- streaming -----------------------------------------------------------------------------
  function follow(box) {
    const textEl = box.querySelector(".stream-text");
    const url = box.dataset.streamUrl + "?offset=" + encodeURIComponent(box.dataset.offset || "0");
    const source = new EventSource(url);
    streams.add(source);
    setBusy();
    // Markdown as it arrives (chat-markdown.js: sanitised like the final render), repainted
    // at most every LIVE_MS; without it, plain text as before.
    const live = window.CalangoMarkdown;
    let raw = textEl.textContent;
    let painting = false;
    function paint() {
      painting = false;
      const stick = nearBottom();
      textEl.replaceChildren(live.render(raw));
      if (stick) {
        scrollToBottom();
      }
    }
    if (live) {
      textEl.classList.add("md-live");
      if (raw) {
        paint();
      }
    }
    source.onmessage = function (event) {
      const text = JSON.parse(event.data).text;
      if (live) {
        raw += text;
        if (!painting) {
          painting = true;
          setTimeout(paint, LIVE_MS);
        }
        return;
      }
      const stick = nearBottom();
      textEl.append(text); // a text node: never parsed as HTML
      if (stick) {
        scrollToBottom();
      }
    };
    source.addEventListener("done", function (event) {
      source.close();
      streams.delete(source);
      const data = JSON.parse(event.data);
      const article = box.closest("article");
      const stick = nearBottom();
      if (article && data.html) {
        article.outerHTML = data.html;
      } else if (article) {
        article.remove();
      }
      if (stick) {
        scrollToBottom();
      }
      setBusy();
    });
    // On a dropped connection EventSource reconnects by itself, sending Last-Event-ID.
  }
  function followAll(root) {
    root.querySelectorAll(".md.streaming[data-stream-url]").forEach(follow);
  }

  // --- sending -------------------------------------------------------------------------------
  // Put a server-rendered (escaped) fragment in place of the element matching ``selector``.
  function replaceWith(selector, html) {
    const current = document.querySelector(selector);
    if (!current || !html) {
      return;
    }
    const holder = document.createElement("div");
    holder.innerHTML = html;
    const fresh = holder.querySelector(selector);
    if (fresh) {
      current.replaceWith(fresh);
    }
  }

  composer.addEventListener("submit", function (event) {
    event.preventDefault();
    if (composer.dataset.sending === "1" || streams.size > 0) {
      return;
    }
    composer.dataset.sending = "1";
    setBusy();
    const body = new FormData(composer);
    fetch(composer.action, {
      method: "POST",
      body: body,
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    })
      .then(function (response) {
        return response
          .json()
          .catch(function () {
            return { error: composer.dataset.msgFailed + " (HTTP " + response.status + ")" };
          })
          .then(function (data) {
            return { ok: response.ok, data: data };
          });
      })
      .then(function (result) {
        const data = result.data;
        if (!result.ok || data.error) {
          showError(data.error || composer.dataset.msgFailed, data.link);
          return;
        }
        hideError();
        textarea.value = "";
        composer.dispatchEvent(new CustomEvent("calango:sent")); // attachments.js clears its files
        const empty = document.getElementById("empty-chat");
        if (empty) {
          empty.remove();
        }
        const holder = document.createElement("div");
        holder.innerHTML = data.html; // server-rendered, escaped and sanitized bubbles
        const added = Array.from(holder.children);
        added.forEach(function (node) {
          conversation.append(node);
        });
        if (data.new_chat) {
          history.pushState({}, "", data.chat_url);
          composer.action = data.chat_url + "/messages";
          replaceWith(".chat-head", data.head_html);
          fetch(data.sidebar_url, { credentials: "same-origin" })
            .then(function (response) {
              return response.ok ? response.text() : "";
            })
            .then(function (html) {
              replaceWith(".chat-list", html);
            })
            .catch(function () {}); // the list stays as it was; a reload shows the chat

          document.title = data.title + " · Calango";
        }
        added.forEach(followAll);
        scrollToBottom();
      })
      .catch(function () {
        showError(composer.dataset.msgNetwork);
      })
      .finally(function () {
        composer.dataset.sending = "";
        setBusy();
        textarea.focus();
      });
  });

  // Enter sends only with this script: only then does the placeholder say so.
  if (textarea.dataset.enterPlaceholder) {
    textarea.placeholder = textarea.dataset.enterPlaceholder;
  }
  textarea.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.ctrlKey && !event.altKey &&
        !event.metaKey && !event.isComposing) {
      event.preventDefault();
      if (sendButton && !sendButton.disabled) {
        composer.requestSubmit();
      }
    }
  });

  // --- stop -------------------------------------------------------------------------------
  conversation.addEventListener("submit", function (event) {
    const form = event.target;
    if (!form.querySelector(".btn-stop")) {
      return;
    }
    event.preventDefault();
    form.querySelector("button").disabled = true;
    fetch(form.action, {
      method: "POST",
      body: new FormData(form),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
    }).catch(function () {
      form.querySelector("button").disabled = false;
    });
    // The stream then ends with the saved, stopped message.
  });

  // --- copy -------------------------------------------------------------------------------
  function copyText(text) {
    if (navigator.clipboard && window.isSecureContext) {
      return navigator.clipboard.writeText(text);
    }
    const area = document.createElement("textarea");
    area.value = text;
    area.setAttribute("readonly", "");
    area.style.position = "fixed";
    area.style.opacity = "0";
    document.body.append(area);
    area.select();
    document.execCommand("copy");
    area.remove();
    return Promise.resolve();
  }
  conversation.addEventListener("click", function (event) {
    const button = event.target.closest(".copy-btn");
    if (!button) {
      return;
    }
    const source = document.getElementById(button.dataset.copy);
    if (!source) {
      return;
    }
    copyText(source.content.textContent).then(function () {
      const label = button.textContent;
      button.textContent = button.dataset.copied;
      setTimeout(function () {
        button.textContent = label;
      }, 1500);
    });
  });

  // --- start ------------------------------------------------------------------------------
  if (sendButton && sendButton.disabled) {
    sendButton.setAttribute("data-disabled", "");
  }
  followAll(conversation);
  if (!location.hash) {
    scrollToBottom();
  }
})();
