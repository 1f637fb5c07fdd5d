// Bundles the portal page's script (with socket.io-client) and styles into dist/ (make web).
import { build } from "esbuild";

await build({
  entryPoints: ["src/portal.js", "src/embed.js", "src/portal.css"],
  outdir: "dist",
  bundle: true,
  minify: true,
  sourcemap: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "linked",
  logLevel: "info",
});
