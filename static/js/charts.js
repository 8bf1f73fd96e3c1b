// Draw the planners' charts with plotly.js; each chart's table beside it works without this.
// <div class="chart-plot" data-figure="ID"> is drawn from <script type="application/json" id="figure-ID">.
(function () {
  "use strict";
  if (!window.Plotly) return;  // plotly.js failed to load: the tables are still there

  // The few plotly.js strings our charts can show (the modebar keeps only "download").
  var LOCALES = {
    "zh-CN": {
      dictionary: {
        "Download plot as a PNG": "下载图表为PNG格式",
        "Download plot": "下载图表"
      }
    }
  };
  var chinese = (document.documentElement.lang || "zh").toLowerCase().indexOf("zh") === 0;

  function draw(div) {
    var id = div.getAttribute("data-figure");
    var source = document.getElementById("figure-" + id);
    if (!source) return;
    var figure;
    try {
      figure = JSON.parse(source.textContent || "{}");
    } catch (error) {
      return;
    }
    var config = figure.config || {};
    config.responsive = true;
    config.locales = LOCALES;
    config.locale = chinese ? "zh-CN" : "en";
    if (config.toImageButtonOptions) config.toImageButtonOptions.filename = "consult-" + id;
    window.Plotly.newPlot(div, figure.data || [], figure.layout || {}, config).then(function () {
      var box = div.closest("figure");
      if (box) box.classList.add("chart-drawn");
    });
  }

  Array.prototype.forEach.call(document.querySelectorAll(".chart-plot[data-figure]"), draw);
})();
