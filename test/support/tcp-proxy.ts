import { createServer, connect, type Server, type Socket } from "node:net";
import type { AddressInfo } from "node:net";
import postgres from "postgres";
import { connectPostgres, type PostgresDatabase } from "../../src/adapters/postgres/connect.ts";
import { applyMigrations } from "../../src/adapters/postgres/migrate.ts";
import { createTestDatabase } from "./postgres.ts";

/**
 * A TCP proxy in front of a real server, to simulate it going away and coming back (a database
 * restart) without touching the server other tests share. `cut()` drops every connection and
 * refuses new ones; `restore()` accepts again on the same port.
 */
export interface TcpProxy {
  readonly port: number;
  cut(): Promise<void>;
  restore(): Promise<void>;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<Socket>();
  const makeServer = () =>
    createServer((client) => {
      const upstream = connect(target.port, target.host);
      for (const socket of [client, upstream]) {
        sockets.add(socket);
        socket.on("close", () => sockets.delete(socket));
        socket.on("error", () => socket.destroy());
      }
      client.pipe(upstream).pipe(client);
      upstream.on("close", () => client.destroy());
      client.on("close", () => upstream.destroy());
    });
  const listen = (server: Server, port: number) =>
    new Promise<number>((resolve, reject) => {
      server.once("error", reject);
      server.listen(port, "127.0.0.1", () => resolve((server.address() as AddressInfo).port));
    });
  const stop = (server: Server) =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    });

  let server = makeServer();
  const port = await listen(server, 0);
  let up = true;
  return {
    port,
    async cut() {
      if (!up) return;
      up = false;
      await stop(server);
    },
    async restore() {
      if (up) return;
      server = makeServer();
      await listen(server, port);
      up = true;
    },
    async close() {
      if (up) await stop(server);
      up = false;
    },
  };
}

/**
 * A fresh test database reached through a TCP proxy (to cut and restore, as a database restart
 * would) with migrations applied, plus a direct connection that outages do not touch.
 */
export async function createProxiedDatabase(cleanups: (() => Promise<unknown>)[]): Promise<{
  proxy: TcpProxy;
  direct: postgres.Sql;
  db: PostgresDatabase;
  viaProxyUrl: string;
}> {
  const database = await createTestDatabase();
  cleanups.push(() => database.drop());
  const direct = postgres(database.url, { max: 2, onnotice: () => {} });
  cleanups.push(() => direct.end());
  const target = new URL(database.url);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  cleanups.push(() => proxy.close());
  const viaProxy = new URL(database.url);
  viaProxy.port = String(proxy.port);
  const db = connectPostgres({ url: viaProxy.toString(), connectTimeoutSeconds: 2, pingTimeoutMs: 500 });
  cleanups.push(() => db.close());
  await applyMigrations(db.sql);
  return { proxy, direct, db, viaProxyUrl: viaProxy.toString() };
}
