// Enhancements for the survey form; the form works the same without them.
(function () {
  "use strict";
  var form = document.getElementById("survey");
  if (!form) return;  // the survey, and the meeting sign-in, share the household pickers
  var layoutNode = document.getElementById("layout-data");
  var layout = layoutNode ? JSON.parse(layoutNode.textContent || "{}") : {};
  var building = form.querySelector("select[name=building]");
  var unit = form.querySelector("select[name=unit]");
  var room = form.querySelector("select[name=room]");

  // Offer only the units of the chosen building, and the rooms of the chosen unit.
  function limit(select, allowed) {
    var keep = false;
    Array.prototype.forEach.call(select.options, function (option) {
      if (!option.value) return;
      var ok = !allowed || allowed.indexOf(option.value) >= 0;
      option.hidden = !ok;
      option.disabled = !ok;
      if (ok && option.selected) keep = true;
    });
    if (!keep) select.value = "";
  }
  function refreshHome() {
    var units = layout[building.value];
    limit(unit, units ? Object.keys(units) : null);
    var rooms = units && units[unit.value];
    limit(room, rooms || (units ? [] : null));
  }
  if (building && unit && room) {
    building.addEventListener("change", refreshHome);
    unit.addEventListener("change", refreshHome);
    refreshHome();
  }

  // The priority pickers offer only ticked items, each once.
  var boxes = form.querySelectorAll("input[name=approve]");
  var pickers = form.querySelectorAll("select.priority");
  var counter = document.getElementById("tick-count");
  function refreshPriorities() {
    var ticked = {};
    var count = 0;
    Array.prototype.forEach.call(boxes, function (box) {
      if (box.checked) { ticked[box.value] = true; count += 1; }
    });
    var taken = {};
    Array.prototype.forEach.call(pickers, function (picker) {
      if (picker.value && !ticked[picker.value]) picker.value = "";
      if (picker.value) {
        if (taken[picker.value]) picker.value = ""; else taken[picker.value] = true;
      }
    });
    Array.prototype.forEach.call(pickers, function (picker) {
      Array.prototype.forEach.call(picker.options, function (option) {
        if (!option.value) return;
        var ok = ticked[option.value] && (!taken[option.value] || picker.value === option.value);
        option.hidden = !ok;
        option.disabled = !ok;
      });
    });
    if (counter) {
      counter.hidden = false;
      counter.textContent = (counter.getAttribute("data-template") || "{n}").replace("{n}", count);
    }
  }
  Array.prototype.forEach.call(boxes, function (box) { box.addEventListener("change", refreshPriorities); });
  Array.prototype.forEach.call(pickers, function (picker) { picker.addEventListener("change", refreshPriorities); });
  refreshPriorities();

  // One tap, one submission: the button waits after the first tap.
  form.addEventListener("submit", function () {
    var button = form.querySelector("button[type=submit]");
    if (!button) return;
    window.setTimeout(function () {
      button.disabled = true;
      button.textContent = button.getAttribute("data-sending") || button.textContent;
    }, 0);
  });
})();
