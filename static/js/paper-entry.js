// Paper entry: show which items the typed numbers stand for, so typos are seen at once.
(function () {
  "use strict";
  var approve = document.getElementById("approve");
  var priority = document.getElementById("priority");
  var key = document.querySelectorAll(".entry-items li[data-item]");
  if (!approve || !priority || !key.length) return;
  function numbers(text) {
    return (text || "").replace(/[０-９]/g, function (d) { return String.fromCharCode(d.charCodeAt(0) - 0xfee0); })
      .split(/[\s,，、;；\/.。]+/).filter(Boolean);
  }
  function refresh() {
    var ticked = numbers(approve.value);
    var ranked = numbers(priority.value);
    Array.prototype.forEach.call(key, function (li) {
      var n = li.getAttribute("data-item");
      li.classList.toggle("picked", ticked.indexOf(n) >= 0);
      li.classList.toggle("ranked", ranked.indexOf(n) >= 0);
    });
  }
  approve.addEventListener("input", refresh);
  priority.addEventListener("input", refresh);
  refresh();
})();
