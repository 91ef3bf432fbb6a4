// Attaching files in the composer. Without this script the plain file input sends them
// (the form is multipart). With it: the input hides behind its paperclip label, pasted
// images and files dropped on the composer join the selection, and chips show what will be
// sent, each with a remove button. The input's FileList stays the one source: chat.js sends
// it with the form (FormData), and the form posts it as before.
(function () {
  "use strict";

  const composer = document.getElementById("composer");
  const input = document.getElementById("files");
  const list = document.getElementById("pending-files");
  if (!composer || !input || !list || typeof DataTransfer === "undefined") {
    return;
  }
  composer.classList.add("files-enhanced");
  const lang = document.documentElement.lang || undefined;
  let pending = Array.from(input.files);

  function sizeText(bytes) {
    const format = function (value, digits) {
      return new Intl.NumberFormat(lang, { maximumFractionDigits: digits }).format(value);
    };
    if (bytes < 1000) {
      return format(bytes, 0) + " B";
    }
    if (bytes < 1000000) {
      return format(bytes / 1000, 0) + " kB";
    }
    return format(bytes / 1000000, 1) + " MB";
  }

  function iconFrom(id) {
    const template = document.getElementById(id);
    return template ? template.content.cloneNode(true) : document.createTextNode("");
  }

  function chip(file, index) {
    const item = document.createElement("li");
    item.className = "file-chip";
    if (file.type.indexOf("image/") === 0) {
      item.classList.add("file-chip-image");
      const img = document.createElement("img");
      img.alt = "";
      img.width = 36;
      img.height = 36;
      const reader = new FileReader(); // a data: URL (the CSP allows no blob: images)
      reader.onload = function () {
        img.src = reader.result;
      };
      reader.readAsDataURL(file);
      item.append(img);
    } else {
      item.append(iconFrom("file-icon"));
    }
    const name = document.createElement("span");
    name.className = "file-name";
    name.textContent = file.name;
    const size = document.createElement("span");
    size.className = "file-size";
    size.textContent = sizeText(file.size);
    const remove = document.createElement("button");
    remove.type = "button";
    remove.className = "file-remove";
    remove.dataset.index = String(index);
    remove.setAttribute("aria-label", list.dataset.remove + " " + file.name);
    remove.title = list.dataset.remove;
    remove.append(iconFrom("remove-icon"));
    item.append(name, size, remove);
    return item;
  }

  function sync() {
    const transfer = new DataTransfer();
    pending.forEach(function (file) {
      transfer.items.add(file);
    });
    input.files = transfer.files;
    list.replaceChildren.apply(list, pending.map(chip));
    list.hidden = pending.length === 0;
    composer.dispatchEvent(new Event("calango:files")); // estimate.js counts them
  }

  function add(files) {
    Array.from(files).forEach(function (file) {
      pending.push(file);
    });
    sync();
  }

  // The picker replaces the input's files with the new choice: keep the earlier ones too.
  input.addEventListener("change", function () {
    const picked = Array.from(input.files);
    pending = pending.filter(function (file) {
      return picked.indexOf(file) === -1;
    });
    add(picked);
  });

  list.addEventListener("click", function (event) {
    const button = event.target.closest(".file-remove");
    if (!button) {
      return;
    }
    pending.splice(Number(button.dataset.index), 1);
    sync();
    input.focus();
  });

  composer.addEventListener("paste", function (event) {
    const files = event.clipboardData ? Array.from(event.clipboardData.files) : [];
    if (files.length) {
      event.preventDefault(); // a pasted picture is attached, not pasted as its name
      add(files);
    }
  });

  function carriesFiles(event) {
    return event.dataTransfer && Array.from(event.dataTransfer.types).indexOf("Files") !== -1;
  }
  composer.addEventListener("dragover", function (event) {
    if (carriesFiles(event)) {
      event.preventDefault();
      composer.classList.add("drop-target");
    }
  });
  composer.addEventListener("dragleave", function (event) {
    if (!composer.contains(event.relatedTarget)) {
      composer.classList.remove("drop-target");
    }
  });
  composer.addEventListener("drop", function (event) {
    composer.classList.remove("drop-target");
    if (carriesFiles(event) && event.dataTransfer.files.length) {
      event.preventDefault();
      add(event.dataTransfer.files);
    }
  });

  // chat.js says when a message went out: its files went with it.
  composer.addEventListener("calango:sent", function () {
    pending = [];
    sync();
  });
  if (pending.length) {
    sync(); // files kept by the browser across a reload
  }
})();
