// Shrink a display equation that is a little wider than the text column
// (down to 70 % of its size) so it fits without a scrollbar; one that would
// need more keeps its size and scrolls inside its own box (custom.css).
(function () {
  function fit() {
    document.querySelectorAll('mjx-container[display="true"]').forEach(function (m) {
      var svg = m.querySelector("svg");
      if (!svg || m.clientWidth === 0) return;
      svg.style.maxWidth = "";
      var ratio = m.clientWidth / m.scrollWidth;
      if (ratio < 1 && ratio >= 0.7) {
        svg.style.maxWidth = "100%";
        svg.style.height = "auto";
      }
    });
  }
  function start() {
    if (window.MathJax && MathJax.startup && MathJax.startup.promise) {
      MathJax.startup.promise.then(fit);
      window.addEventListener("resize", fit);
    }
  }
  if (document.readyState === "complete") start(); else window.addEventListener("load", start);
})();
