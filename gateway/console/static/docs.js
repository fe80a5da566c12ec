// @ts-check
// Swagger UI for /openapi.json, from this gateway's own files (no CDN, no inline script).
const w = /** @type {any} */ (window);
w.ui = w.SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  deepLinking: true,
  presets: [w.SwaggerUIBundle.presets.apis],
  layout: "BaseLayout",
});
