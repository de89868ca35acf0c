/* The mapping editor, the scoping filter editor and the expression builder.
   Every page works without this file (the add and remove buttons post the
   page, the builder is a GET form); it shows only the fields a mapping type
   uses, adds and removes clause rows in place, and evaluates as you type. */
(function () {
  "use strict";

  function debounce(fn, ms) {
    var timer = null;
    return function () {
      var args = arguments;
      window.clearTimeout(timer);
      timer = window.setTimeout(function () { fn.apply(null, args); }, ms);
    };
  }

  function fetchInto(url, params, target) {
    var address = new URL(url, window.location.href);
    Object.keys(params).forEach(function (key) { address.searchParams.set(key, params[key]); });
    var ticket = String(Math.random());
    target.setAttribute("data-ticket", ticket);
    return fetch(address, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (response) { return response.text(); })
      .then(function (html) {
        if (target.getAttribute("data-ticket") === ticket) target.innerHTML = html; // only the latest answer
      });
  }

  // ------------------------------------------------------------ Edit Attribute / Add New Mapping
  var mappingForm = document.getElementById("mapping-form");
  if (mappingForm) {
    var type = document.getElementById("id_mapping_type");
    var matching = document.getElementById("id_is_matching");
    var target = document.getElementById("id_target_attribute");
    var expression = document.getElementById("id_expression");
    var check = document.getElementById("expression-check");
    var builderLink = document.getElementById("open-builder");

    var showFields = function () {
      mappingForm.querySelectorAll("[data-for-types]").forEach(function (field) {
        field.hidden = field.getAttribute("data-for-types").split(" ").indexOf(type.value) === -1;
      });
      mappingForm.querySelectorAll("[data-when-matching]").forEach(function (field) {
        field.hidden = !matching.checked;
      });
      mappingForm.querySelectorAll("[data-target-help]").forEach(function (help) {
        help.hidden = help.getAttribute("data-target-help") !== target.value;
      });
    };
    [type, matching, target].forEach(function (input) { input.addEventListener("change", showFields); });
    showFields();

    var checkExpression = debounce(function () {
      fetchInto(check.getAttribute("data-check-url"), {
        expression: expression.value, check: "1", object_type: check.getAttribute("data-object-type")
      }, check);
    }, 350);
    expression.addEventListener("input", function () {
      // The refusal shown with the page was for the text as it was posted.
      document.querySelectorAll("#field-expression > .errorlist, #field-expression > .expression-marker")
        .forEach(function (stale) { stale.remove(); });
      checkExpression();
    });
    if (builderLink) builderLink.addEventListener("click", function () {
      var address = new URL(builderLink.getAttribute("data-builder-base"), window.location.href);
      address.searchParams.set("expression", expression.value);
      address.searchParams.set("return", builderLink.getAttribute("data-return"));
      builderLink.href = address.toString();
    });
  }

  // ------------------------------------------------------------ scoping filters
  var scopingForm = document.getElementById("scoping-form");
  if (scopingForm) {
    var holder = document.getElementById("scoping-filters");
    var unary = holder.getAttribute("data-unary").split("|");

    var showValue = function (select) {
      var row = select.closest("tr");
      var isUnary = unary.indexOf(select.value) !== -1;
      row.querySelector("[data-value]").hidden = isUnary;
      row.querySelector("[data-no-value]").hidden = !isUnary;
    };
    var nextKey = function (selector, attribute) {
      var highest = 0;
      scopingForm.querySelectorAll(selector).forEach(function (element) {
        var number = parseInt(element.getAttribute(attribute), 10);
        if (number > highest) highest = number;
      });
      return highest + 1;
    };
    var renumber = function () {
      holder.querySelectorAll("fieldset.scoping-filter").forEach(function (fieldset, index) {
        fieldset.querySelector("[data-filter-number]").textContent = String(index + 1);
        var divider = fieldset.previousElementSibling;
        if (index === 0 && divider && divider.classList.contains("or-divider")) divider.remove();
      });
      var empty = document.getElementById("no-filters");
      if (empty) empty.hidden = holder.querySelector("fieldset.scoping-filter") !== null;
    };
    var addClause = function (filterKey) {
      var html = document.getElementById("clause-template").innerHTML
        .replace(/__N__/g, String(nextKey("[data-clause]", "data-clause")))
        .replace(/__F__/g, String(filterKey));
      var body = holder.querySelector('fieldset[data-filter="' + filterKey + '"] [data-clauses]');
      body.insertAdjacentHTML("beforeend", html);
      var rows = body.querySelectorAll("tr.clause");
      rows[rows.length - 1].querySelector("input[type=text]").focus();
    };
    var removeFilter = function (fieldset) {
      var divider = fieldset.previousElementSibling;
      if (divider && divider.classList.contains("or-divider")) divider.remove();
      fieldset.remove();
      renumber();
    };

    scopingForm.addEventListener("change", function (event) {
      if (event.target.matches("select[data-operator]")) showValue(event.target);
    });
    scopingForm.addEventListener("click", function (event) {
      var button = event.target.closest("button");
      if (!button) return;
      if (button.hasAttribute("data-add-clause")) {
        event.preventDefault();
        addClause(button.getAttribute("data-add-clause"));
      } else if (button.hasAttribute("data-remove-clause")) {
        event.preventDefault();
        var fieldset = button.closest("fieldset");
        holder.querySelectorAll('[data-clause="' + button.getAttribute("data-remove-clause") + '"]')
          .forEach(function (row) { row.remove(); });
        if (!fieldset.querySelector("tr.clause")) removeFilter(fieldset);
      } else if (button.hasAttribute("data-remove-filter")) {
        event.preventDefault();
        removeFilter(button.closest("fieldset"));
      } else if (button.hasAttribute("data-add-filter")) {
        event.preventDefault();
        var key = nextKey("fieldset[data-filter]", "data-filter");
        var html = document.getElementById("filter-template").innerHTML.replace(/__F__/g, String(key));
        holder.insertAdjacentHTML("beforeend", html);
        renumber();
        addClause(key);
      }
    });
  }

  // ------------------------------------------------------------ expression builder
  var builder = document.getElementById("builder-form");
  if (builder) {
    var text = document.getElementById("builder-expression");
    var user = document.getElementById("builder-user");
    var result = document.getElementById("builder-result");
    var evaluate = function () {
      fetchInto(builder.getAttribute("data-evaluate-url"), { expression: text.value, user: user.value }, result);
    };
    text.addEventListener("input", debounce(evaluate, 350));
    document.getElementById("builder-users").addEventListener("click", function (event) {
      var choice = event.target.closest("[data-user-id]");
      if (!choice) return;
      event.preventDefault();
      user.value = choice.getAttribute("data-user-id");
      document.getElementById("builder-selected").textContent = choice.getAttribute("data-user-name");
      document.querySelectorAll("#builder-users tr").forEach(function (row) { row.classList.remove("selected"); });
      choice.closest("tr").classList.add("selected");
      evaluate();
    });
    builder.addEventListener("submit", function (event) {
      if (event.submitter && event.submitter.id === "evaluate") {
        event.preventDefault();
        evaluate();
      }
    });
  }
})();
