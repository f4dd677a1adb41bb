// Starts Swagger UI with the documents listed on the page (no inline script: the page's CSP forbids it).
window.onload = function () {
  var element = document.getElementById("swagger-ui");
  window.ui = SwaggerUIBundle({
    urls: JSON.parse(element.dataset.documents),
    dom_id: "#swagger-ui",
    deepLinking: true,
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "StandaloneLayout"
  });
};
