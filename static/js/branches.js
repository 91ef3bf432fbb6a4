// Versions of a conversation (templates/chats/_versions.html). The Regenerate and Answer
// buttons post the composer's form to their own address; without this script that is a
// plain form post that waits for the answer. With it, chat.js must not send the composer as
// a message, and the server redirects at once (follow=1): the chat page then streams the
// answer as it does after a reload.
(function () {
  "use strict";
  document.addEventListener(
    "submit",
    function (event) {
      const button = event.submitter;
      if (!button || !button.hasAttribute("data-branch-action")) {
        return;
      }
      event.stopImmediatePropagation(); // before chat.js, which listens on the form
      const form = event.target;
      if (!form.querySelector("input[name=follow]")) {
        const follow = document.createElement("input");
        follow.type = "hidden";
        follow.name = "follow";
        follow.value = "1";
        form.append(follow);
      }
    },
    true,
  );
})();
