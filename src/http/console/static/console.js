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
