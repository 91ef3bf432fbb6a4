// The composer's comforts: it grows with its text (up to half the screen, CSS caps it), is
// focused on load, Esc stops the answer being written, Enter while one is written says that
// nothing was queued, and a button brings back the latest message when scrolled up.
// chat.js sends and streams; it marks the form with data-streaming="1" while an answer is
// being written. Without this script the composer is a plain form.
(function () {
  "use strict";

  const composer = document.getElementById("composer");
  const conversation = document.getElementById("conversation");
  if (!composer || !conversation) {
    return;
  }
  const textarea = document.getElementById("content");
  const status = document.getElementById("composer-status");
  const scroller = document.getElementById("main") || document.scrollingElement;
  let statusTimer = null;

  // --- grow with the text --------------------------------------------------------------
  function grow() {
    textarea.style.height = "auto";
    textarea.style.height = textarea.scrollHeight + 2 + "px"; // CSS max-height: 50vh
  }
  if (textarea) {
    textarea.classList.add("autogrow");
    textarea.addEventListener("input", grow);
    // chat.js empties it after sending (no input event): shrink back.
    new MutationObserver(grow).observe(conversation, { childList: true });
    grow();
    // Focus on load, except on touch screens (the keyboard would cover the answer).
    if (!location.hash && !window.matchMedia("(pointer: coarse)").matches) {
      textarea.focus({ preventScroll: true });
    }
  }

  // --- an answer being written ----------------------------------------------------------
  function stopButton() {
    return conversation.querySelector(".btn-stop:not(:disabled)");
  }
  function streaming() {
    return composer.dataset.streaming === "1" || Boolean(conversation.querySelector(".btn-stop"));
  }
  function say(text) {
    if (!status) {
      return;
    }
    status.textContent = text;
    status.hidden = false;
    clearTimeout(statusTimer);
    statusTimer = setTimeout(function () {
      status.hidden = true;
    }, 6000);
  }
  if (textarea) {
    // Runs before chat.js's handler (capture): chat.js ignores Enter while busy.
    textarea.addEventListener(
      "keydown",
      function (event) {
        if (event.key === "Enter" && !event.shiftKey && !event.ctrlKey && !event.altKey &&
            !event.metaKey && !event.isComposing && streaming()) {
          say(composer.dataset.msgBusy || "");
        }
      },
      true
    );
  }
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape" || event.shiftKey || event.defaultPrevented) {
      return;
    }
    if (document.querySelector("dialog[open]")) {
      return; // Esc closes the dialog first
    }
    const stop = stopButton();
    if (stop) {
      event.preventDefault();
      stop.form.requestSubmit(stop);
      say(composer.dataset.msgStopping || "");
    }
  });

  // --- back to the latest message --------------------------------------------------------
  const toLatest = document.getElementById("to-latest");
  function farFromBottom() {
    return scroller.scrollHeight - scroller.scrollTop - scroller.clientHeight > 300;
  }
  if (toLatest) {
    const update = function () {
      toLatest.hidden = !farFromBottom();
    };
    scroller.addEventListener("scroll", update, { passive: true });
    new MutationObserver(update).observe(conversation, { childList: true, subtree: true });
    toLatest.addEventListener("click", function () {
      scroller.scrollTo({ top: scroller.scrollHeight, behavior: "smooth" });
      if (textarea && !window.matchMedia("(pointer: coarse)").matches) {
        textarea.focus({ preventScroll: true });
      }
    });
    update();
  }

  // --- the shortcuts dialog ----------------------------------------------------------------
  const help = document.getElementById("shortcuts-help");
  const dialog = document.getElementById("shortcuts");
  if (help && dialog && typeof dialog.showModal === "function") {
    help.hidden = false;
    help.addEventListener("click", function () {
      dialog.showModal();
    });
  }
})();
