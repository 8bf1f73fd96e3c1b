// The facilitator's screen follows the phone votes without reloading the page.
(function () {
  "use strict";
  var source = document.getElementById("live-source");
  if (!source || !window.fetch) return;
  var url = source.getAttribute("data-url");
  function set(key, value) {
    var node = document.querySelector('[data-live="' + key + '"]');
    if (node && node.textContent !== String(value)) node.textContent = value;
  }
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) { return response.ok ? response.json() : null; })
      .then(function (data) {
        if (!data) return;
        set("attendance", data.attendance);
        Object.keys(data.votes).forEach(function (id) {
          var v = data.votes[id];
          var tag = document.querySelector('[data-live="state-' + id + '"]');
          if (tag && v.state) {
            set("state-" + id, source.getAttribute("data-state-" + v.state) || v.state);
            tag.className = "tag tag-vote-" + v.state;
          }
          set("for-" + id, v["for"]);
          set("against-" + id, v.against);
          set("abstain-" + id, v.abstain);
        });
      })
      .catch(function () { /* the next poll tries again */ })
      .then(function () { window.setTimeout(poll, 2000); });
  }
  window.setTimeout(poll, 2000);
})();
