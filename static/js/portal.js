// Shared behaviour for every page (loaded with defer; no inline scripts under the CSP).
(function () {
  "use strict";
  // After HTMX replaces part of a page, move keyboard focus to the new content when it asks
  // for it (data-focus), so keyboard and screen-reader users land where the change happened.
  document.addEventListener("htmx:afterSettle", function (event) {
    var target = event.detail.elt;
    if (!target || !target.querySelector) { return; }
    var focus = target.matches("[data-focus]") ? target : target.querySelector("[data-focus]");
    if (focus) {
      if (!focus.hasAttribute("tabindex")) { focus.setAttribute("tabindex", "-1"); }
      focus.focus();
    }
  });
  // A failed HTMX request says so in plain words instead of failing silently.
  document.addEventListener("htmx:responseError", function (event) {
    var box = document.getElementById("htmx-error");
    if (!box) {
      box = document.createElement("p");
      box.id = "htmx-error";
      box.className = "message error";
      box.setAttribute("role", "alert");
      document.getElementById("main").prepend(box);
    }
    box.textContent = "That did not work (" + event.detail.xhr.status + "). Reload the page and try again.";
  });
})();
