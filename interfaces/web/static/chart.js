/* Draws a channel's intervals with uPlot from the JSON embedded in the page.
 *
 * Ranges with more points than pixels are reduced to each pixel column's minimum and
 * maximum: the line keeps every peak and trough (LTTB dropped daily peaks), and uPlot
 * draws a few thousand points in tens of milliseconds. Times are shown in UTC, like
 * the table beside the chart.
 */
(function () {
  "use strict";

  var HEIGHT = 320;

  function decimate(times, values, pixels) {
    if (times.length <= pixels * 2) {
      return { times: times, values: values, reduced: false };
    }
    var first = times[0];
    var span = times[times.length - 1] - first || 1;
    var outTimes = [];
    var outValues = [];
    var bucket = -1;
    var low = -1;
    var high = -1;
    var start = -1;

    function flush() {
      if (bucket < 0) { return; }
      if (low < 0) {  // only gaps in this column: keep the gap
        outTimes.push(times[start]);
        outValues.push(null);
        return;
      }
      var a = Math.min(low, high);
      var b = Math.max(low, high);
      outTimes.push(times[a]);
      outValues.push(values[a]);
      if (b !== a) {
        outTimes.push(times[b]);
        outValues.push(values[b]);
      }
    }

    for (var i = 0; i < times.length; i++) {
      var column = Math.floor(((times[i] - first) / span) * (pixels - 1));
      if (column !== bucket) {
        flush();
        bucket = column;
        low = high = -1;
        start = i;
      }
      var value = values[i];
      if (value === null) { continue; }
      if (low < 0 || value < values[low]) { low = i; }
      if (high < 0 || value > values[high]) { high = i; }
    }
    flush();
    return { times: outTimes, values: outValues, reduced: true };
  }

  function draw() {
    var holder = document.getElementById("chart");
    var source = document.getElementById("chart-data");
    if (!holder || !source || typeof window.uPlot === "undefined") { return; }
    var data = JSON.parse(source.textContent);
    if (!data.times.length) {
      holder.textContent = "No intervals to draw in this range.";
      holder.classList.add("empty");
      return;
    }
    var width = Math.max(holder.clientWidth, 320);
    var shown = decimate(data.times, data.values, width);
    var options = {
      width: width,
      height: HEIGHT,
      tzDate: function (seconds) { return window.uPlot.tzDate(new Date(seconds * 1e3), "Etc/UTC"); },
      scales: { x: { time: true } },
      series: [
        {},
        {
          label: data.label + " (" + data.unit + ")",
          stroke: "#1f6fb2",
          fill: "rgba(31, 111, 178, 0.10)",
          width: 1.5,
          points: { show: false },
          // An interval's value holds from its start until the next interval starts.
          paths: shown.reduced ? undefined : window.uPlot.paths.stepped({ align: 1 }),
        },
      ],
      axes: [{}, { label: data.unit, size: 70 }],
    };
    var plot = new window.uPlot(options, [shown.times, shown.values], holder);
    holder.dataset.drawnPoints = String(shown.times.length);

    var pending = null;
    window.addEventListener("resize", function () {
      clearTimeout(pending);
      pending = setTimeout(function () {
        plot.setSize({ width: Math.max(holder.clientWidth, 320), height: HEIGHT });
      }, 150);
    });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
