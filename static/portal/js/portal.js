/* Small progressive enhancements. Every page works without this file; it adds
   live refresh, live search, confirmations and the unsaved-changes warning. */
(function () {
  "use strict";

  // The signed-in user's menu in the top bar: a disclosure button; Escape or a click elsewhere closes it.
  function setMenu(menu, open) {
    menu.classList.toggle("open", open);
    var toggle = menu.querySelector("[data-menu-toggle]");
    if (toggle) toggle.setAttribute("aria-expanded", open ? "true" : "false");
  }
  document.addEventListener("click", function (event) {
    var toggle = event.target.closest("[data-menu-toggle]");
    document.querySelectorAll(".user.open").forEach(function (menu) {
      if (!toggle || !menu.contains(toggle)) setMenu(menu, false);
    });
    if (toggle) setMenu(toggle.parentElement, !toggle.parentElement.classList.contains("open"));
  });
  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll(".user.open").forEach(function (menu) {
      setMenu(menu, false);
      menu.querySelector("[data-menu-toggle]").focus();
    });
  });

  // A select with data-reveal="<value>:<selector>" shows that element only while the value is
  // chosen (the Automatic sections of the Provisioning page, as the Entra blade does).
  document.querySelectorAll("select[data-reveal]").forEach(function (select) {
    var parts = select.getAttribute("data-reveal").split(":");
    var target = document.querySelector(parts[1]);
    if (!target) return;
    var sync = function () { target.hidden = select.value !== parts[0]; };
    select.addEventListener("change", sync);
    // Browsers restore a changed select on "Back": show what it says.
    window.addEventListener("pageshow", sync);
    sync();
  });

  // Elements with data-poll="<url>" are replaced by what the URL returns, every
  // data-interval milliseconds, while the tab is visible. The answer may carry
  // data-poll-stop to end the polling (a finished cycle, say).
  function startPolling(element) {
    var url = element.getAttribute("data-poll");
    var interval = parseInt(element.getAttribute("data-interval") || "3000", 10);
    var timer = window.setInterval(function () {
      if (document.hidden) return;
      fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (response) { return response.ok ? response.text() : null; })
        .then(function (html) {
          if (html === null) return;
          var holder = document.createElement("div");
          holder.innerHTML = html.trim();
          var fresh = holder.firstElementChild;
          if (!fresh) return;
          element.replaceWith(fresh);
          window.clearInterval(timer);
          if (fresh.hasAttribute("data-poll") && !fresh.hasAttribute("data-poll-stop")) startPolling(fresh);
        })
        .catch(function () { /* keep the last known state on a network hiccup */ });
    }, interval);
  }
  document.querySelectorAll("[data-poll]").forEach(function (element) {
    if (!element.hasAttribute("data-poll-stop")) startPolling(element);
  });

  // Live search: an input with data-live-search="<url>" and data-target="<selector>"
  // fills the target with the URL's answer for ?q=<text>, 250 ms after typing stops.
  document.querySelectorAll("[data-live-search]").forEach(function (input) {
    var timer = null;
    var last = null;
    input.addEventListener("input", function () {
      window.clearTimeout(timer);
      timer = window.setTimeout(function () {
        var query = input.value.trim();
        if (query === last) return;
        last = query;
        var url = new URL(input.getAttribute("data-live-search"), window.location.href);
        url.searchParams.set("q", query);
        var extra = input.getAttribute("data-extra-params");
        if (extra) new URLSearchParams(extra).forEach(function (v, k) { url.searchParams.set(k, v); });
        var target = document.querySelector(input.getAttribute("data-target"));
        target.setAttribute("aria-busy", "true");
        fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
          .then(function (response) { return response.text(); })
          .then(function (html) {
            if (input.value.trim() !== query) return; // a newer search is on its way
            target.innerHTML = html;
            target.removeAttribute("aria-busy");
          });
      }, 250);
    });
  });

  // Forms with data-confirm ask before they submit.
  document.addEventListener("submit", function (event) {
    var form = event.target;
    var message = form.getAttribute("data-confirm") ||
      (event.submitter && event.submitter.getAttribute("data-confirm"));
    if (message && !window.confirm(message)) event.preventDefault();
  }, true);

  // Forms with data-warn-unsaved warn before the page is left with changes.
  document.querySelectorAll("form[data-warn-unsaved]").forEach(function (form) {
    var initial = new URLSearchParams(new FormData(form)).toString();
    var submitting = false;
    form.addEventListener("submit", function () { submitting = true; });
    window.addEventListener("beforeunload", function (event) {
      if (submitting) return;
      if (new URLSearchParams(new FormData(form)).toString() !== initial) {
        event.preventDefault();
        event.returnValue = "";
      }
    });
  });

  // A <dialog data-open-on-load> opens with the page (a form in it was refused: it shows why).
  document.querySelectorAll("dialog[data-open-on-load]").forEach(function (dialog) {
    if (dialog.showModal && !dialog.open) dialog.showModal();
  });

  // Buttons with data-dialog="<id>" open that <dialog>; [data-close] inside closes it.
  document.addEventListener("click", function (event) {
    var opener = event.target.closest("[data-dialog]");
    if (opener) {
      var dialog = document.getElementById(opener.getAttribute("data-dialog"));
      if (dialog && dialog.showModal) { event.preventDefault(); dialog.showModal(); }
    }
    var closer = event.target.closest("dialog [data-close]");
    if (closer) { event.preventDefault(); closer.closest("dialog").close(); }
  });
})();
