// Draws the flow from the Mermaid source shown on the index page (the vendored mermaid.min.js, no network);
// each state in the drawing opens its page. Without JavaScript the source stays readable as text.
(function () {
  "use strict";
  var source = document.getElementById("flow-source");
  var target = document.getElementById("flow-diagram");
  if (!source || !target) {
    return;
  }
  if (!window.mermaid) {
    document.body.setAttribute("data-diagram", "no-mermaid");
    return;
  }
  var pages = JSON.parse(target.getAttribute("data-pages") || "{}");
  window.mermaid.initialize({
    startOnLoad: false,
    securityLevel: "strict",
    fontFamily: "system-ui, sans-serif",
    state: { useMaxWidth: false },
  });
  window.mermaid
    .render("flow-svg", source.textContent)
    .then(function (result) {
      target.innerHTML = result.svg;
      target.hidden = false;
      var nodes = target.querySelectorAll("g.node");
      Array.prototype.forEach.call(nodes, function (node) {
        var match = /state-([a-z0-9_]+)-\d+$/.exec(node.id || "");
        var href = match && pages[match[1]];
        if (href) {
          node.addEventListener("click", function () {
            window.location.href = href;
          });
          var title = document.createElementNS("http://www.w3.org/2000/svg", "title");
          title.textContent = "Open the page of " + match[1];
          node.appendChild(title);
        }
      });
      addZoom(target);
      var details = source.closest("details");
      if (details) {
        details.open = false; // drawn: the text stays one click away
      }
      document.body.setAttribute("data-diagram", "drawn");
    })
    .catch(function (error) {
      target.hidden = false;
      target.textContent = "The diagram could not be drawn here (" + error + "); its source is below.";
      document.body.setAttribute("data-diagram", "failed");
    });

  // Zoom buttons: the flow is long, so it opens at a size whose labels can be read, and scrolls sideways.
  function addZoom(box) {
    var svg = box.querySelector("svg");
    var width = parseFloat(svg.getAttribute("width")) || svg.getBoundingClientRect().width;
    var height = parseFloat(svg.getAttribute("height")) || svg.getBoundingClientRect().height;
    var zoom = 0.8;
    function apply() {
      svg.setAttribute("width", String(width * zoom));
      svg.setAttribute("height", String(height * zoom));
      svg.style.maxWidth = "none";
    }
    var tools = document.createElement("div");
    tools.className = "diagram-tools";
    [
      ["Zoom out", function () { zoom = Math.max(0.1, zoom / 1.25); }],
      ["Zoom in", function () { zoom = Math.min(3, zoom * 1.25); }],
      ["Whole flow", function () { zoom = Math.min(1, (box.clientWidth - 20) / width); }],
    ].forEach(function (item) {
      var button = document.createElement("button");
      button.type = "button";
      button.textContent = item[0];
      button.addEventListener("click", function () {
        item[1]();
        apply();
      });
      tools.appendChild(button);
    });
    box.parentNode.insertBefore(tools, box);
    apply();
  }
})();
