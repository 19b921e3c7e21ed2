// Highlights the lines an RFC 5147 fragment names (#line=463,474: lines 464 to 474) and scrolls to them.
// The server highlights ?lines=464-474 itself; this covers provenance IRIs followed as they are.
(function () {
  "use strict";
  function highlight() {
    var match = /^#line=(\d+),(\d+)$/.exec(window.location.hash);
    if (!match) { return; }
    var first = Number(match[1]) + 1, last = Number(match[2]);
    document.querySelectorAll(".source-text li.cited").forEach(function (li) { li.classList.remove("cited"); });
    for (var n = first; n <= last; n += 1) {
      var line = document.getElementById("line-" + n);
      if (line) { line.classList.add("cited"); }
    }
    var start = document.getElementById("line-" + first);
    if (start) { start.scrollIntoView(); }
  }
  window.addEventListener("hashchange", highlight);
  highlight();
}());
