/* PTIM pages: the A-37 confirmation prompts. A form (or its submit button) carrying
   data-confirm is sent only after the user confirms the text. Served as a static file:
   the CSP forbids inline scripts. */
(function () {
  "use strict";
  document.addEventListener(
    "submit",
    function (event) {
      var form = event.target;
      var button = event.submitter;
      var text =
        (button && button.getAttribute("data-confirm")) || form.getAttribute("data-confirm");
      if (text && !window.confirm(text)) {
        event.preventDefault();
        event.stopImmediatePropagation();
      }
    },
    true
  );
})();
