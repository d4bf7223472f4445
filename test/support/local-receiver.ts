import http from "node:http";
import https from "node:https";
import { once } from "node:events";
import type { AddressInfo } from "node:net";

/** Local webhook receivers for the sender tests: real sockets on loopback, ephemeral ports. */

export interface ReceivedRequest {
  readonly method: string;
  readonly headers: http.IncomingHttpHeaders;
  readonly body: Buffer;
}

export type Respond = (req: http.IncomingMessage, res: http.ServerResponse) => void;

export interface Receiver {
  readonly url: string;
  readonly requests: ReceivedRequest[];
  /** TCP connections accepted so far. */
  connections(): number;
  /** Resolves with the next request once its body has fully arrived. */
  nextRequest(): Promise<ReceivedRequest>;
  close(): Promise<void>;
}

/** Self-signed for 127.0.0.1 (P-256, valid until 2126); trusted by nobody, on purpose. */
const selfSignedKey = `-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgLHV02Xs7b6gN44aS
8sJ3YVOjdrfcg9pK410rOseT6jKhRANCAATYcahPbbRnHSHd7mIt6dr9TEpEVChE
R8h3GPGzicjQEzhBCOC0fgBgb1IWjlkJHv+E65xlE1RRkgmmbC9AhKBH
-----END PRIVATE KEY-----`;
const selfSignedCert = `-----BEGIN CERTIFICATE-----
MIIBkTCCATagAwIBAgIUEmOIpU1YKmxfaczCxPNrXnWRpv0wCgYIKoZIzj0EAwIw
FDESMBAGA1UEAwwJMTI3LjAuMC4xMCAXDTI2MTEyODE3MjY1OFoYDzIxMjYxMTA0
MTcyNjU4WjAUMRIwEAYDVQQDDAkxMjcuMC4wLjEwWTATBgcqhkjOPQIBBggqhkjO
PQMBBwNCAATYcahPbbRnHSHd7mIt6dr9TEpEVChER8h3GPGzicjQEzhBCOC0fgBg
b1IWjlkJHv+E65xlE1RRkgmmbC9AhKBHo2QwYjAdBgNVHQ4EFgQUijxKu6gg1kc1
PnlCBoW8ofAOqZEwHwYDVR0jBBgwFoAUijxKu6gg1kc1PnlCBoW8ofAOqZEwDwYD
VR0TAQH/BAUwAwEB/zAPBgNVHREECDAGhwR/AAABMAoGCCqGSM49BAMCA0kAMEYC
IQC2Y605xyHar2f0IhxSnZTKZiYx6Z5i2UNJG0cSnXPiOQIhAPs0wFQtcOOdxI57
1lcPZ7cBXS9djXYBVxzaQ3RtBUZq
-----END CERTIFICATE-----`;

/** The key and certificate above, for tests that run their own TLS server. */
export const selfSignedTls = { key: selfSignedKey, cert: selfSignedCert };

export interface ReceiverOptions {
  readonly tls?: boolean;
  /** A loopback IPv4 address to listen on (default 127.0.0.1). */
  readonly host?: string;
  /** The port to listen on (default: an ephemeral one). */
  readonly port?: number;
}

export async function startReceiver(respond: Respond, options: ReceiverOptions = {}): Promise<Receiver> {
  const host = options.host ?? "127.0.0.1";
  const requests: ReceivedRequest[] = [];
  const waiting: Array<(request: ReceivedRequest) => void> = [];
  let connections = 0;
  const onRequest = (req: http.IncomingMessage, res: http.ServerResponse) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const received = { method: req.method ?? "", headers: req.headers, body: Buffer.concat(chunks) };
      requests.push(received);
      waiting.shift()?.(received);
      respond(req, res);
    });
  };
  const server = options.tls
    ? https.createServer({ key: selfSignedKey, cert: selfSignedCert }, onRequest)
    : http.createServer(onRequest);
  server.on("connection", () => connections++);
  server.listen(options.port ?? 0, host);
  await once(server, "listening");
  const { port } = server.address() as AddressInfo;
  const receiver: Receiver = {
    url: `${options.tls ? "https" : "http"}://${host}:${port}/hook`,
    requests,
    connections: () => connections,
    nextRequest: () => new Promise((resolve) => waiting.push(resolve)),
    close: async () => {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
  return receiver;
}

export { freePort } from "../../scripts/free-port.ts";
