/**
 * `npm run build`: the single binary dist/sendmux (bun build --compile), with the gateway's worker
 * thread entry and piscina's own worker loader embedded as extra entry points.
 *
 * piscina starts each thread on `resolve(__dirname, "worker.js")`, and the bundler bakes that
 * __dirname in as the build machine's node_modules path, so the binary would load piscina's loader
 * from a disk that is not there on the machine it runs on. The plugin below points piscina at the
 * embedded copy instead; every embedded entry lives under /$bunfs/root/<path from the project root>.
 */
import type { BunPlugin } from "bun";
import { statSync } from "node:fs";
import { fileURLToPath } from "node:url";

const ROOT = fileURLToPath(new URL("../", import.meta.url));
const PISCINA_LOADER = "node_modules/piscina/dist/worker.js";
const PISCINA_SPAWN = "(0, node_path_1.resolve)(__dirname, 'worker.js')";

const embeddedPiscinaLoader: BunPlugin = {
  name: "embedded-piscina-loader",
  setup(build) {
    build.onLoad({ filter: /[\\/]piscina[\\/]dist[\\/]index\.js$/ }, async (args) => {
      const src = await Bun.file(args.path).text();
      if (!src.includes(PISCINA_SPAWN)) {
        throw new Error(`piscina changed: ${args.path} no longer starts threads with ${PISCINA_SPAWN}; update scripts/build.ts`);
      }
      return { contents: src.replace(PISCINA_SPAWN, JSON.stringify(`/$bunfs/root/${PISCINA_LOADER}`)), loader: "js" };
    });
  },
};

// `bun run scripts/build.ts [outfile]`; the default is what `npm run build` makes.
const outfile = process.argv[2] ?? `${ROOT}dist/sendmux`;
const result = await Bun.build({
  entrypoints: ["src/main.ts", "workers/send-worker.ts", PISCINA_LOADER].map((p) => ROOT + p),
  root: ROOT,
  compile: { outfile },
  minify: { syntax: true },
  plugins: [embeddedPiscinaLoader],
});
if (!result.success) {
  for (const log of result.logs) console.error(log);
  process.exit(1);
}
console.log(`built ${outfile} (${(statSync(outfile).size / 2 ** 20).toFixed(1)} MiB)`);
