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

  // ---- Tabs inside an activity's details.
  function setUpTabs(root) {
    var tabs = root.querySelectorAll("[data-tab]");
    if (!tabs.length) return;
    var select = function (tab) {
      tabs.forEach(function (other) {
        var on = other === tab;
        other.classList.toggle("active", on);
        other.setAttribute("aria-selected", on ? "true" : "false");
        var panel = root.querySelector(other.getAttribute("href"));
        if (panel) panel.hidden = !on;
      });
    };
    tabs.forEach(function (tab) {
      tab.setAttribute("role", "tab");
      tab.addEventListener("click", function (event) {
        event.preventDefault();
        select(tab);
      });
    });
    root.classList.add("tabbed");
    select(tabs[0]);
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
