// Keyboard shortcuts on every page, listed on a dialog opened with "?" (templates/help/
// shortcuts.html): Ctrl/⌘+Shift+O new chat, Ctrl/⌘+K or "/" search chats, Shift+Esc the
// message box. Esc (stop the answer) is composer.js's. Nothing here is needed to use Calango.
(function () {
  "use strict";

  const dialog = document.getElementById("shortcuts");
  const newChat = document.querySelector("[data-new-chat]");

  function typing(target) {
    return target && (target.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(target.tagName));
  }
  function focusSearch() {
    const search = document.getElementById("sidebar-q");
    if (!search) {
      return false;
    }
    const drawer = search.closest("details");
    if (drawer && !drawer.open) {
      drawer.open = true; // the chat list is a closed drawer on phones
    }
    search.focus();
    search.select();
    return true;
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.isComposing) {
      return;
    }
    const mod = event.ctrlKey || event.metaKey;
    const key = event.key.length === 1 ? event.key.toLowerCase() : event.key;
    if (mod && event.shiftKey && key === "o") {
      event.preventDefault();
      window.location.href = newChat ? newChat.getAttribute("href") : "/";
    } else if (mod && !event.shiftKey && key === "k") {
      if (focusSearch()) {
        event.preventDefault();
      }
    } else if (event.shiftKey && key === "Escape") {
      const content = document.getElementById("content");
      if (content) {
        event.preventDefault();
        content.focus();
      }
    } else if (!mod && !event.altKey && !typing(event.target)) {
      if (key === "?" && dialog && typeof dialog.showModal === "function" && !dialog.open) {
        event.preventDefault();
        dialog.showModal();
      } else if (key === "/" && focusSearch()) {
        event.preventDefault();
      }
    }
  });
})();
