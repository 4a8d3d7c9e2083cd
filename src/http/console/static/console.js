// scimd console: optional enhancements only; every page works without them.
// The user picker: typing in its search field filters the listed users.
"use strict";
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("input[data-picker-filter]").forEach(function (input) {
    var select = document.getElementById(input.getAttribute("data-picker-filter"));
    if (!select) { return; }
    input.addEventListener("input", function () {
      var wanted = input.value.trim().toLowerCase();
      Array.prototype.forEach.call(select.options, function (option) {
        if (!option.value) { return; }
        option.hidden = wanted !== "" && option.text.toLowerCase().indexOf(wanted) === -1;
      });
    });
  });
});

// Read-only fields marked data-copy (a new token, a signing secret, the
// SCIM base URL): a click selects the whole value, and a "Copy" button
// copies it. Without JavaScript the field is still there to select.
document.addEventListener("DOMContentLoaded", function () {
  document.querySelectorAll("input[data-copy]").forEach(function (input) {
    input.addEventListener("focus", function () { input.select(); });
    if (!navigator.clipboard) { return; }
    var button = document.createElement("button");
    button.type = "button";
    button.className = "secondary copy";
    button.textContent = "Copy";
    button.setAttribute("aria-label", "Copy " + (input.labels && input.labels[0] ? input.labels[0].textContent : "the value"));
    button.addEventListener("click", function () {
      navigator.clipboard.writeText(input.value).then(function () {
        button.textContent = "Copied";
      });
    });
    input.insertAdjacentElement("afterend", button);
  });
});
