/**
 * Apache Kafka's own Java client as a test producer, from the jars scripts/kafka.sh resolved:
 * test/support/java/CompressedProducer.java is compiled with javac into a temporary directory and
 * run with `java`, so batches are compressed the way the Java client compresses them.
 */
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { kafkaBrokers } from "./kafka.ts";
import { KAFKA_SCRIPT, REPO_ROOT, type Env } from "./services.ts";

export type ProducerCompression = "none" | "gzip" | "snappy" | "lz4" | "zstd";

export interface JavaProducer {
  /**
   * Produces `messages` to `topic` with `compression.type=compression`; resolves when the broker
   * acknowledged all of them (acks=all). Every partition's records share one batch.
   */
  produce(options: { topic: string; compression: ProducerCompression; messages: readonly { key: string; value: string }[] }): Promise<{ sent: number }>;
  /** Deletes the compiled classes. */
  dispose(): void;
}

/**
 * Where scripts/kafka.sh keeps Kafka's jars: `KAFKA_CACHE_DIR`, by default
 * ~/.cache/stories-dispatcher/kafka-<KAFKA_VERSION>, then lib/. The default version is read from
 * the script, so the two cannot disagree.
 */
export function kafkaLibDir(env: Env = process.env): string {
  const version = env["KAFKA_VERSION"] || defaultKafkaVersion();
  const cacheDir = env["KAFKA_CACHE_DIR"] || path.join(env["HOME"] || "/root", ".cache", "stories-dispatcher", `kafka-${version}`);
  return path.join(cacheDir, "lib");
}

function defaultKafkaVersion(): string {
  const match = /^KAFKA_VERSION="\$\{KAFKA_VERSION:-([^}]+)\}"$/m.exec(readFileSync(KAFKA_SCRIPT, "utf8"));
  if (!match?.[1]) throw new Error(`cannot find the default KAFKA_VERSION in ${KAFKA_SCRIPT}`);
  return match[1];
}

/** Compiles CompressedProducer.java (about 2 s); fails saying what is missing when Java or the jars are not there. */
export async function compileJavaProducer(): Promise<JavaProducer> {
  const libDir = kafkaLibDir();
  if (!existsSync(libDir)) {
    throw new Error(`Kafka's jars are not in ${libDir}: run scripts/kafka.sh start once (it resolves them), or set KAFKA_CACHE_DIR / KAFKA_VERSION as for that script`);
  }
  const classesDir = mkdtempSync(path.join(tmpdir(), "stories-dispatcher-java-"));
  const classPath = `${classesDir}${path.delimiter}${path.join(libDir, "*")}`;
  const source = path.join(REPO_ROOT, "test", "support", "java", "CompressedProducer.java");
  await run("javac", ["-d", classesDir, "-cp", path.join(libDir, "*"), source], "");
  return {
    async produce({ topic, compression, messages }) {
      const lines = messages.map(({ key, value }) => {
        if (/[\t\n]/.test(key) || value.includes("\n")) throw new Error("keys may hold no tab or newline, values no newline");
        return `${key}\t${value}\n`;
      });
      const output = await run("java", ["-Xmx128m", "-cp", classPath, "CompressedProducer", kafkaBrokers().join(","), topic, compression], lines.join(""));
      const report = JSON.parse(output.trim().split("\n").at(-1) ?? "") as { sent: number };
      if (report.sent !== messages.length) throw new Error(`the Java producer acknowledged ${report.sent} of ${messages.length} records:\n${output}`);
      return report;
    },
    dispose: () => rmSync(classesDir, { recursive: true, force: true }),
  };
}

/** Runs `command` with `input` on its standard input; resolves with its standard output, rejects with all its output when it fails. */
function run(command: string, args: readonly string[], input: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { stdio: ["pipe", "pipe", "pipe"] });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", (error) => reject(new Error(`cannot run ${command}: ${error.message} (Kafka's test tools need Java 17: the JDK's java and javac)`)));
    child.on("close", (code) => {
      if (code === 0) resolve(stdout);
      else reject(new Error(`${command} ${args.join(" ")} exited with ${code}:\n${stdout}${stderr}`));
    });
    child.stdin.end(input);
  });
}
