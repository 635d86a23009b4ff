// Member form: when the typed institution matches an existing one ignoring case, accents and
// spacing, use the existing name as recorded (the server matches the same way on save).
(function () {
  "use strict";

  function nameKey(text) {
    return text.normalize("NFKD").replace(/[\u0300-\u036f]/g, "").toLowerCase()
      .split(/\s+/).filter(Boolean).join(" ");
  }

  // Shown only with JavaScript: empties every share field so that the defaults apply on save.
  function initShares() {
    var button = document.querySelector("[data-clear-shares]");
    if (!button) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var form = button.closest("form");
      Array.prototype.forEach.call(form.querySelectorAll('input[name$="share"]'), function (field) {
        field.value = "";
      });
    });
  }

  // Programs that do not count toward load (collaborators, visitors) default the role to
  // "Host"; the server still asks before saving a supervising role there.
  function initRoleDefault() {
    var program = document.getElementById("program");
    var role = document.getElementById("role");
    if (!program || !role) {
      return;
    }
    var hosted = (program.form.getAttribute("data-hosted-programs") || "").split(" ");
    var setByUs = false;
    program.addEventListener("change", function () {
      if (hosted.indexOf(program.value) !== -1) {
        if (role.value !== "none") {
          role.value = "none";
          setByUs = true;
        }
      } else if (setByUs && role.value === "none") {
        role.value = "principal";
        setByUs = false;
      }
    });
    role.addEventListener("change", function () {
      setByUs = false;
    });
  }

  function init() {
    initShares();
    initRoleDefault();
    var input = document.getElementById("institution");
    var list = document.getElementById("institution-options");
    if (!input || !list) {
      return;
    }
    var known = {};
    Array.prototype.forEach.call(list.options, function (option) {
      known[nameKey(option.value)] = option.value;
    });
    input.addEventListener("change", function () {
      var match = known[nameKey(input.value)];
      if (match && match !== input.value) {
        input.value = match;
      }
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", init);
  } else {
    init();
  }
})();
