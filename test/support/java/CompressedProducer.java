import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import java.util.concurrent.Future;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.Metric;
import org.apache.kafka.common.MetricName;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Produces records with Apache Kafka's own Java client and the given compression.type, so the
 * tests consume batches compressed the way most producers compress them (test/support/kafka-java.ts
 * compiles and runs it). Usage: CompressedProducer BOOTSTRAP TOPIC COMPRESSION, then one record
 * per line on standard input, key TAB value. Prints one JSON line: how many were acknowledged and
 * the producer's own compression-rate-avg.
 */
public final class CompressedProducer {
  public static void main(String[] args) throws Exception {
    if (args.length != 3) {
      System.err.println("usage: CompressedProducer BOOTSTRAP TOPIC none|gzip|snappy|lz4|zstd < key<TAB>value lines");
      System.exit(2);
    }
    Properties config = new Properties();
    config.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, args[0]);
    config.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, args[2]);
    config.put(ProducerConfig.ACKS_CONFIG, "all");
    // Nothing leaves before flush(): every record of a partition shares one compressed batch.
    config.put(ProducerConfig.LINGER_MS_CONFIG, "60000");
    config.put(ProducerConfig.BATCH_SIZE_CONFIG, Integer.toString(1 << 20));
    config.put(ProducerConfig.KEY_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    config.put(ProducerConfig.VALUE_SERIALIZER_CLASS_CONFIG, StringSerializer.class.getName());
    String topic = args[1];
    List<Future<RecordMetadata>> sent = new ArrayList<>();
    try (KafkaProducer<String, String> producer = new KafkaProducer<>(config);
        BufferedReader input = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8))) {
      for (String line; (line = input.readLine()) != null; ) {
        if (line.isEmpty()) continue;
        int tab = line.indexOf('\t');
        if (tab < 0) throw new IllegalArgumentException("expected key<TAB>value, got: " + line);
        sent.add(producer.send(new ProducerRecord<>(topic, line.substring(0, tab), line.substring(tab + 1))));
      }
      producer.flush();
      for (Future<RecordMetadata> acknowledgement : sent) acknowledgement.get();
      System.out.printf("{\"sent\":%d,\"compressionRateAvg\":%s}%n", sent.size(), metric(producer, "compression-rate-avg"));
    }
  }

  static Object metric(KafkaProducer<String, String> producer, String name) {
    for (java.util.Map.Entry<MetricName, ? extends Metric> entry : producer.metrics().entrySet()) {
      if (entry.getKey().name().equals(name) && entry.getKey().group().equals("producer-metrics")) {
        Object value = entry.getValue().metricValue();
        return value instanceof Double && ((Double) value).isNaN() ? "null" : value;
      }
    }
    return "null";
  }
}
