// The search page's facets fold away on a small screen: closed below 48em, open above (the page
// sends them open, so without this script they are simply always open).
(function () {
  "use strict";
  var wide = window.matchMedia("(min-width: 48em)");
  function fit() {
    var facets = document.querySelectorAll("details.facets");
    for (var i = 0; i < facets.length; i++) {
      facets[i].open = wide.matches;
    }
  }
  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", fit);
  } else {
    fit();
  }
  if (wide.addEventListener) {
    wide.addEventListener("change", fit);
  }
})();
