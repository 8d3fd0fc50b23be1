import type net from "node:net";
import type tls from "node:tls";
import { SMTPServer } from "smtp-server";
import { SMTPConnection, type SMTPConnectionOptions } from "smtp-server/lib/smtp-connection.js";
import { ENHANCED_CODE_AT_START, replies } from "./replies.ts";

/**
 * smtp-server (3.21) with the changes the relay needs, made by subclassing its connection
 * class rather than editing node_modules:
 *
 * 1. One enhanced status code per reply. smtp-server adds a code of its own choosing to every
 *    reply (550 → 5.1.1, 250 after DATA → 2.6.0), including the text of our callback errors, so
 *    "5.7.1 …" would come out as "550 5.1.1 5.7.1 …". A reply whose text already starts with a
 *    code is sent as it is; every other reply keeps smtp-server's code.
 * 2. AUTH before TLS gets `530 5.7.0` (SPEC) instead of smtp-server's non-standard 538.
 * 3. EHLO before TLS does not advertise AUTH (RFC 4954 section 4: no plaintext password
 *    mechanism without TLS), so well-behaved clients never put the API key on the wire in clear.
 * 4. MAIL, RCPT or DATA before AUTH in the clear (STARTTLS port, no upgrade yet) gets a 530 that
 *    says to STARTTLS first: AUTH is not offered there, so "log in with AUTH" alone would mislead.
 * 5. A quoted local part is read as one address. smtp-server splits the path at blanks, so
 *    `RCPT TO:<"bob@example.net> NOTIFY=SUCCESS"@example.com>` came out as the address
 *    `"bob@example.net` with a NOTIFY parameter taken from inside the quotes.
 *
 * The tests in test/e2e/relay-*.test.ts pin the exact replies, so a smtp-server upgrade that
 * changes these internals shows up there.
 */
export class RelayConnection extends SMTPConnection {
  private inEhlo = false;

  override send(code: number, data?: string | string[] | null, context?: string | false): void {
    if (code === 530 && data === replies.authRequired && !this.secure) data = replies.authRequiredBeforeTls;
    if (typeof data === "string" && ENHANCED_CODE_AT_START.test(data)) return super.send(code, data, false);
    if (this.inEhlo && !this.secure && Array.isArray(data)) data = data.filter((line) => !/^AUTH\b/i.test(line));
    super.send(code, data, context);
  }

  override handler_EHLO(command: Buffer, callback: () => void): void {
    this.inEhlo = true;
    try {
      super.handler_EHLO(command, callback);
    } finally {
      this.inEhlo = false;
    }
  }

  override _parseAddressCommand(rawName: string, rawCommand: Buffer | string): ReturnType<SMTPConnection["_parseAddressCommand"]> {
    const text = String(rawCommand ?? "");
    const colon = text.indexOf(":");
    const rest = colon < 0 ? "" : text.slice(colon + 1).replace(/^ +/, "");
    if (!rest.startsWith('<"')) return super._parseAddressCommand(rawName, rawCommand);
    const q = quotedPath(rest);
    if (!q) return false;
    // smtp-server parses the command name and the parameters after the path; only the path is ours.
    const parsed = super._parseAddressCommand(rawName, `${text.slice(0, colon)}:<quoted@placeholder.invalid>${q.after}`);
    return parsed && { ...parsed, address: q.address };
  }

  override handler_AUTH(command: Buffer, callback: () => void): void {
    if (!this.secure) {
      this.send(530, replies.authBeforeTls());
      return callback();
    }
    super.handler_AUTH(command, callback);
  }
}

/**
 * Splits `<"quoted local part"@domain> params` (RFC 5321 Quoted-string, backslash escapes) into
 * the address without brackets and what follows the path; null when it is not well formed.
 */
export function quotedPath(rest: string): { address: string; after: string } | null {
  let i = 2;
  for (; i < rest.length; i++) {
    const ch = rest.charCodeAt(i);
    if (ch < 0x20 || ch === 0x7f) return null;
    if (rest[i] === "\\") i++;
    else if (rest[i] === '"') break;
  }
  if (i >= rest.length || rest[i + 1] !== "@") return null;
  const gt = rest.indexOf(">", i + 2);
  if (gt < 0 || !/^[^\s<>@]+$/.test(rest.slice(i + 2, gt))) return null;
  const after = rest.slice(gt + 1);
  if (after && !after.startsWith(" ")) return null;
  return { address: rest.slice(1, gt), after };
}

export class RelayServer extends SMTPServer {
  /** Mirrors SMTPServer.connect (smtp-server 3.21) with RelayConnection in place of SMTPConnection. */
  override connect(socket: net.Socket | tls.TLSSocket, socketOptions?: SMTPConnectionOptions | null): void {
    const connection = new RelayConnection(this, socket, socketOptions ?? undefined);
    this.connections.add(connection);
    connection.on("error", (err: Error) => this._onError(err));
    connection.on("connect", (data) => this._onClientConnect(data));
    connection.init();
  }
}
