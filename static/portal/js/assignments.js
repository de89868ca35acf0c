/* Add Assignment: "Select" on a row of the directory search picks that user or
   group for the form; the page says which one is selected. */
(function () {
  "use strict";

  var results = document.getElementById("directory-results");
  if (!results) return;
  results.addEventListener("click", function (event) {
    var choice = event.target.closest("[data-principal-id]");
    if (!choice) return;
    event.preventDefault();
    document.getElementById("principal-id").value = choice.getAttribute("data-principal-id");
    document.getElementById("principal-type").value = choice.getAttribute("data-principal-type");
    document.getElementById("principal-name").value = choice.getAttribute("data-principal-name");
    document.getElementById("selected-principal").textContent =
      choice.getAttribute("data-principal-name") + " (" + choice.getAttribute("data-principal-type") + ")";
    results.querySelectorAll("tr").forEach(function (row) {
      row.classList.remove("selected");
      var button = row.querySelector("[data-principal-id]");
      if (button) button.setAttribute("aria-pressed", "false");
    });
    choice.closest("tr").classList.add("selected");
    choice.setAttribute("aria-pressed", "true");
  });
})();
