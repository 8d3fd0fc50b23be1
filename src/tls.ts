import { chmodSync, existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import selfsigned from "selfsigned";

export interface TlsPair {
  cert: string;
  key: string;
  generated: boolean;
}

/**
 * The relay's certificate: the operator's (SENDMUX_TLS_CERT/KEY), or a self-signed one generated
 * into the data dir on first start and reused afterwards.
 */
export async function loadTls(certFile: string | null, keyFile: string | null, dataDir: string, hostname: string): Promise<TlsPair> {
  if (certFile && keyFile) return { cert: readFileSync(certFile, "utf8"), key: readFileSync(keyFile, "utf8"), generated: false };
  const dir = join(dataDir, "tls");
  const c = join(dir, "cert.pem");
  const k = join(dir, "key.pem");
  if (existsSync(c) && existsSync(k)) return { cert: readFileSync(c, "utf8"), key: readFileSync(k, "utf8"), generated: false };
  mkdirSync(dir, { recursive: true });
  const notBefore = new Date();
  const notAfter = new Date(notBefore);
  notAfter.setFullYear(notAfter.getFullYear() + 5);
  const pems = await selfsigned.generate([{ name: "commonName", value: hostname }], {
    keyType: "ec",
    curve: "P-256",
    algorithm: "sha256",
    notBeforeDate: notBefore,
    notAfterDate: notAfter,
    extensions: [
      { name: "basicConstraints", cA: false },
      { name: "keyUsage", digitalSignature: true, keyEncipherment: true },
      { name: "subjectAltName", altNames: [{ type: 2, value: hostname }, { type: 2, value: "localhost" }, { type: 7, ip: "127.0.0.1" }] },
    ],
  });
  writeFileSync(c, pems.cert, { mode: 0o644 });
  writeFileSync(k, pems.private, { mode: 0o600 });
  chmodSync(k, 0o600);
  return { cert: pems.cert, key: pems.private, generated: true };
}
