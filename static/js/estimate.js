// The composer's estimate of this turn's input cost, refreshed as one types (at most one
// request per 400 ms pause, the previous one aborted), when the model, persona, profile or
// cap changes, and after each answer. Without this script the composer shows no estimate and
// the send still checks the cap.
(function () {
  "use strict";

  const composer = document.getElementById("composer");
  const line = document.getElementById("composer-estimate");
  const warning = document.getElementById("composer-estimate-warning");
  const conversation = document.getElementById("conversation");
  if (!composer || !line || !warning || !window.fetch || !window.AbortController) {
    return;
  }
  const textEl = line.querySelector(".estimate-text");
  const capEl = line.querySelector(".estimate-cap");
  const WAIT_MS = 400;
  let timer = null;
  let pending = null;

  // The chat's address changes when the first message creates it (chat.js sets the action).
  function url() {
    return composer.action.replace(/\/messages$/, "/estimate");
  }

  function show(data) {
    textEl.textContent = data.text || "";
    capEl.textContent = data.cap_text || "";
    line.hidden = !data.text;
    // Phones show it only once something is typed (CSS): the conversation keeps the room.
    line.toggleAttribute("data-blank", !composer.querySelector("textarea").value.trim());
    warning.textContent = data.warning || "";
    warning.hidden = !data.warning;
  }

  // The files to send are described, never uploaded, for an estimate: the characters of
  // text files (a PDF's text is guessed from its size) and each picture's size in pixels.
  const fileInput = document.getElementById("files");
  const sizes = new WeakMap();

  function measure(file) {
    if (sizes.has(file) || !window.createImageBitmap) {
      return;
    }
    sizes.set(file, null);
    createImageBitmap(file)
      .then(function (bitmap) {
        sizes.set(file, bitmap.width + "x" + bitmap.height);
        bitmap.close();
        later();
      })
      .catch(function () {}); // not a picture the browser reads: the server will say so
  }

  function withoutFiles(body) {
    body.delete("files");
    let chars = 0;
    const images = [];
    Array.from(fileInput ? fileInput.files : []).forEach(function (file) {
      if (/^image\//.test(file.type)) {
        measure(file);
        images.push(sizes.get(file) || "0x0");
      } else if (file.type === "application/pdf" || /\.pdf$/i.test(file.name)) {
        chars += Math.round(file.size / 4);
      } else {
        chars += file.size;
      }
    });
    body.append("attached_chars", String(chars));
    body.append("attached_images", images.join(","));
    return body;
  }

  function refresh() {
    timer = null;
    if (pending) {
      pending.abort();
    }
    const controller = new AbortController();
    pending = controller;
    fetch(url(), {
      method: "POST",
      body: withoutFiles(new FormData(composer)),
      headers: { Accept: "application/json" },
      credentials: "same-origin",
      signal: controller.signal,
    })
      .then(function (response) {
        return response.ok ? response.json() : null;
      })
      .then(function (data) {
        if (pending === controller) {
          pending = null;
          if (data) {
            show(data);
          }
        }
      })
      .catch(function () {}); // aborted, or offline: the last estimate stays
  }

  function later() {
    clearTimeout(timer);
    timer = setTimeout(refresh, WAIT_MS);
  }

  composer.addEventListener("input", later);
  composer.addEventListener("change", later);
  composer.addEventListener("calango:files", later);
  if (conversation) {
    // A sent message, a finished answer: the history to send next changed.
    new MutationObserver(later).observe(conversation, { childList: true });
  }
  refresh();
})();
