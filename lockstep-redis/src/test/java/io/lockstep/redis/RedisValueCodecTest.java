package io.lockstep.redis;

import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.lockstep.Versioned;
import io.lockstep.spi.Change;
import org.junit.jupiter.api.Test;

class RedisValueCodecTest {

  @Test
  void envelope_roundTripsAnyBytesAndContentType() {
    byte[] value = {0, ':', '\n', (byte) 0xff, '1', ':'};
    String type = "text/x:odd; charset=\u00e9";
    byte[] env = RedisValueCodec.envelope(42, type, value);
    assertThat(RedisValueCodec.decodeEnvelope("k", env))
        .isEqualTo(new Versioned("k", value, type, 42));
    assertThat(new String(RedisValueCodec.envelope(7, "text/plain", "hi".getBytes(UTF_8)), UTF_8))
        .isEqualTo("7:10:text/plainhi");
    assertThat(RedisValueCodec.decodeEnvelope("e", "3:0:".getBytes(UTF_8)))
        .isEqualTo(new Versioned("e", new byte[0], "", 3));
  }

  @Test
  void message_roundTripsPutsAndDeletes_withKeysHoldingSeparators() {
    Versioned v = new Versioned("a:b/\u00e9", "{\"x\":1}".getBytes(UTF_8), "application/json", 9);
    RedisValueCodec.Message put =
        RedisValueCodec.decodeMessage(RedisValueCodec.message(9, Change.put(v)));
    assertThat(put.revision()).isEqualTo(9);
    assertThat(put.change()).isEqualTo(Change.put(v));
    RedisValueCodec.Message del =
        RedisValueCodec.decodeMessage(RedisValueCodec.message(10, Change.delete("a:b")));
    assertThat(del).isEqualTo(new RedisValueCodec.Message(10, Change.delete("a:b")));
    assertThat(new String(RedisValueCodec.message(10, Change.delete("a:b")), UTF_8))
        .isEqualTo("10:D:3:a:b");
  }

  @Test
  void malformedInput_failsNamingWhatIsWrong() {
    assertThatThrownBy(() -> RedisValueCodec.decodeEnvelope("k", "x:1:a".getBytes(UTF_8)))
        .hasMessageContaining("mod revision");
    assertThatThrownBy(() -> RedisValueCodec.decodeEnvelope("k", "1:9:ab".getBytes(UTF_8)))
        .hasMessageContaining("runs past the end");
    assertThatThrownBy(() -> RedisValueCodec.decodeEnvelope("k", "12".getBytes(UTF_8)))
        .hasMessageContaining("no ':'");
    assertThatThrownBy(() -> RedisValueCodec.decodeMessage("5:X:1:k".getBytes(UTF_8)))
        .hasMessageContaining("P: or D:");
    assertThatThrownBy(() -> RedisValueCodec.decodeMessage("5:D:1:kk".getBytes(UTF_8)))
        .hasMessageContaining("bytes after a delete");
    assertThatThrownBy(() -> RedisValueCodec.decodeMessage("5:P:1:k4:0:".getBytes(UTF_8)))
        .hasMessageContaining("mod revision 4");
    assertThatThrownBy(
            () -> RedisValueCodec.decodeEnvelope("k", new byte[] {'1', ':', '1', ':', (byte) 0xc3}))
        .hasMessageContaining("not valid UTF-8");
  }
}
