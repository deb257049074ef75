/* Renders each runbook's Mermaid source into an <img> (SVG data URI).
 * Rendering to an image keeps the page's strict CSP: the SVG's own <style> element and
 * style attributes live inside the image, not in the page. The source stays available
 * in a <details> element as a text alternative. */
(function () {
  "use strict";
  if (!window.mermaid) { return; }
  window.mermaid.initialize({
    startOnLoad: false,
    securityLevel: "strict",
    htmlLabels: false,
    flowchart: { htmlLabels: false },
    theme: "neutral",
  });
  var targets = document.querySelectorAll(".mermaid-target");
  targets.forEach(function (target, index) {
    var figure = target.closest("figure");
    var source = figure ? figure.querySelector(".mermaid-source") : null;
    if (!source) { return; }
    window.mermaid.render("runbook-diagram-" + index, source.textContent).then(function (result) {
      var img = document.createElement("img");
      img.alt = target.getAttribute("data-title") || "Runbook diagram";
      img.src = "data:image/svg+xml;charset=utf-8," + encodeURIComponent(result.svg);
      target.appendChild(img);
    }).catch(function (error) {
      var p = document.createElement("p");
      p.className = "error";
      p.textContent = "The diagram could not be rendered: " + error;
      target.appendChild(p);
    });
  });
})();
