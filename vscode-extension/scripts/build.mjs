// Bundles the extension with esbuild into dist/extension.js (one file, `vscode` external):
// the .vsix then ships no node_modules. `--production` minifies and drops source maps.
import { build } from "esbuild";

const production = process.argv.includes("--production");

await build({
  entryPoints: ["src/extension.ts"],
  bundle: true,
  outfile: "dist/extension.js",
  external: ["vscode"],
  format: "cjs",
  platform: "node",
  target: "node20",
  minify: production,
  sourcemap: !production,
  logLevel: "warning",
});
