/**
 * A local SMTP server that prints every message it receives: for trying an `smtp` provider
 * without a real mail server. Usage: npm run sink [-- PORT]   (default 2525, 127.0.0.1 only).
 */
import { SMTPServer } from "smtp-server";

const port = Number(process.argv[2] ?? 2525);
if (!Number.isInteger(port) || port < 1 || port > 65535) {
  console.error("usage: npm run sink -- [PORT]   (a port number from 1 to 65535)");
  process.exit(2);
}
const server = new SMTPServer({
  authOptional: true,
  disabledCommands: ["STARTTLS"],
  logger: false,
  onAuth(auth, _s, cb) {
    cb(null, { user: auth.username ?? "" });
  },
  onData(stream, session, cb) {
    const chunks: Buffer[] = [];
    stream.on("data", (c: Buffer) => chunks.push(c));
    stream.on("end", () => {
      const from = session.envelope.mailFrom ? session.envelope.mailFrom.address : "";
      const to = session.envelope.rcptTo.map((r) => r.address).join(", ");
      console.log(`----- message from <${from}> to ${to} (${Buffer.concat(chunks).length} bytes)`);
      console.log(Buffer.concat(chunks).toString("utf8"));
      cb();
    });
  },
});
server.on("error", (e) => console.error(`smtp sink: ${e.message}`));
server.listen(port, "127.0.0.1", () => console.log(`smtp sink listening on 127.0.0.1:${port} (plain SMTP, any AUTH accepted)`));
