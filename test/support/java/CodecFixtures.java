import com.github.luben.zstd.Zstd;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import net.jpountz.lz4.LZ4FrameOutputStream;
import org.apache.kafka.common.compress.Compression;
import org.apache.kafka.common.record.internal.RecordBatch;
import org.apache.kafka.common.utils.internals.ByteBufferOutputStream;

/**
 * Writes test/adapters/kafka-codecs.fixtures.json: the same text compressed the ways Kafka
 * producers compress a record batch, by the Java libraries that do it (Kafka's own codecs, and the
 * snappy-java, lz4-java and zstd-jni calls other producers' formats correspond to). Run from the
 * repository root, against the jars scripts/kafka.sh resolved:
 *
 *   javac -d /tmp/codec-fixtures -cp "$LIB/*" test/support/java/CodecFixtures.java
 *   java -cp "/tmp/codec-fixtures:$LIB/*" CodecFixtures > test/adapters/kafka-codecs.fixtures.json
 *
 * The text is `fixtureText(lines)` of test/adapters/kafka-codecs.test.ts; keep the two in step.
 */
public final class CodecFixtures {
  public static void main(String[] args) throws Exception {
    // 1,000 lines are about 79 KB: more than one 64 KB LZ4 block and more than two 32 KB xerial chunks.
    byte[] large = fixtureText(1000);
    byte[] small = fixtureText(40);
    Map<String, String[]> fixtures = new LinkedHashMap<>();
    fixtures.put("gzip-kafka", entry(1000, "Kafka's GzipCompression (the Java producer's gzip)", kafka(Compression.gzip().build(), large)));
    fixtures.put("snappy-xerial-kafka", entry(1000, "Kafka's SnappyCompression: xerial SnappyOutputStream framing, 32 KB chunks", kafka(Compression.snappy().build(), large)));
    fixtures.put("snappy-raw", entry(40, "org.xerial.snappy.Snappy.compress: one raw snappy block, as librdkafka writes it", org.xerial.snappy.Snappy.compress(small)));
    fixtures.put("lz4-kafka", entry(1000, "Kafka's Lz4Compression: LZ4 frame, 64 KB independent blocks, no checksums", kafka(Compression.lz4().build(), large)));
    fixtures.put("lz4-frame-checksums", entry(1000, "lz4-java LZ4FrameOutputStream: 64 KB blocks with block checksums, content size and content checksum", lz4Frame(large)));
    fixtures.put("zstd-kafka", entry(1000, "Kafka's ZstdCompression (zstd-jni streaming)", kafka(Compression.zstd().build(), large)));
    fixtures.put("zstd-multi-frame", entry(1000, "two zstd frames (zstd-jni Zstd.compress) with a skippable frame between them", zstdFrames(large)));
    StringBuilder json = new StringBuilder("{\n");
    int i = 0;
    for (Map.Entry<String, String[]> fixture : fixtures.entrySet()) {
      String[] value = fixture.getValue();
      json.append(String.format("  \"%s\": { \"lines\": %s, \"producedBy\": \"%s\", \"base64\": \"%s\" }%s\n",
          fixture.getKey(), value[0], value[1], value[2], ++i < fixtures.size() ? "," : ""));
    }
    System.out.print(json.append("}\n"));
  }

  static byte[] fixtureText(int lines) {
    StringBuilder text = new StringBuilder();
    String alphabet = "abcdefghijklmnopqrstuvwxyz";
    for (int i = 0; i < lines; i++) {
      text.append(String.format("{\"job_id\":\"job-%05d\",\"event\":\"job.succeeded\",\"seq\":%d,\"pad\":\"%s\"}\n", i * 7919 % 100000, i, alphabet.substring(0, i % 27)));
    }
    return text.toString().getBytes(StandardCharsets.UTF_8);
  }

  static String[] entry(int lines, String producedBy, byte[] compressed) {
    return new String[] {Integer.toString(lines), producedBy, Base64.getEncoder().encodeToString(compressed)};
  }

  static byte[] kafka(Compression compression, byte[] text) throws Exception {
    ByteBufferOutputStream buffer = new ByteBufferOutputStream(1024);
    try (OutputStream out = compression.wrapForOutput(buffer, RecordBatch.MAGIC_VALUE_V2)) {
      out.write(text);
    }
    ByteBuffer written = buffer.buffer();
    written.flip();
    byte[] bytes = new byte[written.remaining()];
    written.get(bytes);
    return bytes;
  }

  static byte[] lz4Frame(byte[] text) throws Exception {
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    try (OutputStream out = new LZ4FrameOutputStream(buffer, LZ4FrameOutputStream.BLOCKSIZE.SIZE_64KB, text.length,
        LZ4FrameOutputStream.FLG.Bits.BLOCK_INDEPENDENCE, LZ4FrameOutputStream.FLG.Bits.BLOCK_CHECKSUM,
        LZ4FrameOutputStream.FLG.Bits.CONTENT_SIZE, LZ4FrameOutputStream.FLG.Bits.CONTENT_CHECKSUM)) {
      out.write(text);
    }
    return buffer.toByteArray();
  }

  static byte[] zstdFrames(byte[] text) throws Exception {
    int half = text.length / 2;
    ByteArrayOutputStream buffer = new ByteArrayOutputStream();
    buffer.write(Zstd.compress(java.util.Arrays.copyOfRange(text, 0, half), 3));
    // A skippable frame: magic 0x184D2A50 and a 4-byte length, little-endian, then that many bytes.
    buffer.write(new byte[] {0x50, 0x2A, 0x4D, 0x18, 3, 0, 0, 0, 'a', 'b', 'c'});
    buffer.write(Zstd.compress(java.util.Arrays.copyOfRange(text, half, text.length), 3));
    return buffer.toByteArray();
  }
}
