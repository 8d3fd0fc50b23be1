/** The baseline endpoint: Bun.serve answering a small JSON. `PORT=n bun run bench/hello-server.ts`. */
const server = Bun.serve({
  hostname: "127.0.0.1",
  port: Number(process.env.PORT ?? 0),
  fetch: () => Response.json({ ok: true, data: { message_id: "eml_000000000000000000000000", status: "queued" } }),
});
console.log(`listening ${server.port}`);
