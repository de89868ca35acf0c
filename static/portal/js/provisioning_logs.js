/* Provisioning logs: the custom date fields appear only with "Custom time
   interval", a row's details open in a side panel, and the detail's sections
   become tabs. Without this file every link still opens a full page. */
(function () {
  "use strict";

  // ---- Date: "From" and "To" only for a custom interval (or when they carry an error).
  var form = document.getElementById("log-filters");
  if (form) {
    var range = form.querySelector("select[name=date]");
    var customFields = form.querySelectorAll("[data-custom-range]");
    var showCustom = function () {
      customFields.forEach(function (field) {
        field.hidden = range.value !== "custom" && !field.classList.contains("has-error");
      });
    };
    if (range) {
      range.addEventListener("change", showCustom);
      showCustom();
    }
  }

  // ---- Tabs inside an activity's details, in the ARIA tabs pattern: the links of the
  // "Activity details" navigation become a tablist; Left and Right (Home, End) move
  // between the tabs and show the tab's panel.
  function setUpTabs(root) {
    var list = root.querySelector(".tabs");
    var tabs = Array.prototype.slice.call(root.querySelectorAll("[data-tab]"));
    if (!list || !tabs.length) return;
    list.setAttribute("role", "tablist");
    var panelOf = function (tab) { return root.querySelector(tab.getAttribute("href")); };
    var select = function (tab, focus) {
      tabs.forEach(function (other) {
        var on = other === tab;
        other.classList.toggle("active", on);
        other.setAttribute("aria-selected", on ? "true" : "false");
        other.tabIndex = on ? 0 : -1;
        var panel = panelOf(other);
        if (panel) panel.hidden = !on;
      });
      if (focus) tab.focus();
    };
    tabs.forEach(function (tab, index) {
      var panel = panelOf(tab);
      tab.setAttribute("role", "tab");
      if (panel) {
        tab.id = tab.id || panel.id + "-tab";
        tab.setAttribute("aria-controls", panel.id);
        panel.setAttribute("role", "tabpanel");
        panel.setAttribute("aria-labelledby", tab.id);
        panel.tabIndex = 0;
      }
      tab.addEventListener("click", function (event) {
        event.preventDefault();
        select(tab, false);
      });
      tab.addEventListener("keydown", function (event) {
        var next = null;
        if (event.key === "ArrowRight") next = tabs[(index + 1) % tabs.length];
        else if (event.key === "ArrowLeft") next = tabs[(index - 1 + tabs.length) % tabs.length];
        else if (event.key === "Home") next = tabs[0];
        else if (event.key === "End") next = tabs[tabs.length - 1];
        else if (event.key === " ") next = tab;
        if (!next) return;
        event.preventDefault();
        select(next, true);
      });
    });
    root.classList.add("tabbed");
    select(tabs[0], false);
  }
  document.querySelectorAll(".log-detail").forEach(setUpTabs);

  // ---- Side panel: a row's details next to the list.
  var panel = document.getElementById("log-panel");
  if (!panel) return;

  function closePanel() {
    panel.hidden = true;
    panel.innerHTML = "";
    document.querySelectorAll("#provisioning-logs tr.selected").forEach(function (row) {
      row.classList.remove("selected");
    });
  }

  document.addEventListener("click", function (event) {
    var link = event.target.closest("a[data-log-detail]");
    if (link) {
      // A new tab or window keeps working as a plain link.
      if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      event.preventDefault();
      fetch(link.href, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
        .then(function (response) {
          if (!response.ok) throw new Error(response.status);
          return response.text();
        })
        .then(function (html) {
          closePanel();
          panel.innerHTML = html;
          panel.hidden = false;
          link.closest("tr").classList.add("selected");
          var detail = panel.querySelector(".log-detail");
          if (detail) setUpTabs(detail);
          panel.focus();
        })
        .catch(function () { window.location.href = link.href; });
      return;
    }
    if (event.target.closest("[data-close-panel]")) {
      event.preventDefault();
      closePanel();
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && !panel.hidden) closePanel();
  });
})();
