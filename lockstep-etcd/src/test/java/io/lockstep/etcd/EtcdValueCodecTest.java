package io.lockstep.etcd;

import static java.nio.charset.StandardCharsets.US_ASCII;
import static java.nio.charset.StandardCharsets.UTF_8;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.SplittableRandom;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class EtcdValueCodecTest {

  @Test
  void json_isStoredRaw_byteForByte() {
    byte[] json = "{\"test\": \"abc\", \"n\": [1, 2.5e3, null]}\n".getBytes(UTF_8);
    assertThat(EtcdValueCodec.encode(json, "application/json")).isSameAs(json);
    EtcdValueCodec.Decoded d = EtcdValueCodec.decode(json);
    assertThat(d.contentType()).isEqualTo("application/json");
    assertThat(d.value()).isEqualTo(json);
  }

  @ParameterizedTest
  @ValueSource(
      strings = {
        "\"hi\"",
        "1",
        "-0.5",
        "true",
        "null",
        "[]",
        "{}",
        " {\"a\":{\"b\":[{}]}} ",
        "\"\u00e9\u4e2d\""
      })
  void rawBytes_thatParseAsJson_readAsJson(String text) {
    assertThat(EtcdValueCodec.decode(text.getBytes(UTF_8)).contentType())
        .isEqualTo("application/json");
  }

  @ParameterizedTest
  @ValueSource(
      strings = {"", "hello", "{", "{} {}", "[1,]", "{'a':1}", "NaN", "01", "1 2", "{\"a\":1}x"})
  void rawBytes_thatAreNotJson_readAsOctetStream(String text) {
    EtcdValueCodec.Decoded d = EtcdValueCodec.decode(text.getBytes(UTF_8));
    assertThat(d.contentType()).isEqualTo("application/octet-stream");
    assertThat(d.value()).isEqualTo(text.getBytes(UTF_8));
  }

  @Test
  void otherContentType_isEnveloped_andRoundTrips() {
    byte[] value = {0, 1, 2, (byte) 0xff, 'x'};
    byte[] stored = EtcdValueCodec.encode(value, "text/plain; charset=utf-8");
    assertThat(stored).startsWith(0x00, 'L', 'S', '1', 25);
    assertThat(new String(stored, 5, 25, US_ASCII)).isEqualTo("text/plain; charset=utf-8");
    EtcdValueCodec.Decoded d = EtcdValueCodec.decode(stored);
    assertThat(d.contentType()).isEqualTo("text/plain; charset=utf-8");
    assertThat(d.value()).isEqualTo(value);
  }

  @Test
  void octetStream_whoseBytesAreJson_keepsItsContentType() {
    byte[] json = "{\"a\":1}".getBytes(UTF_8);
    EtcdValueCodec.Decoded d =
        EtcdValueCodec.decode(EtcdValueCodec.encode(json, "application/octet-stream"));
    assertThat(d.contentType()).isEqualTo("application/octet-stream");
    assertThat(d.value()).isEqualTo(json);
  }

  @Test
  void emptyValue_withContentType_roundTrips() {
    EtcdValueCodec.Decoded d =
        EtcdValueCodec.decode(EtcdValueCodec.encode(new byte[0], "text/plain"));
    assertThat(d.contentType()).isEqualTo("text/plain");
    assertThat(d.value()).isEmpty();
  }

  @Test
  void longestContentType_roundTrips_andOneMoreIsRefused() {
    String ct = "x/" + "y".repeat(253);
    assertThat(EtcdValueCodec.decode(EtcdValueCodec.encode(new byte[] {7}, ct)).contentType())
        .isEqualTo(ct);
    assertThatThrownBy(() -> EtcdValueCodec.encode(new byte[0], ct + "z"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("contentType");
  }

  @ParameterizedTest
  @ValueSource(strings = {"", "text/pl\u00e4in", "a\nb", "tab\there"})
  void badContentType_isRefused(String ct) {
    assertThatThrownBy(() -> EtcdValueCodec.encode(new byte[] {1}, ct))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("contentType");
  }

  @Test
  void jsonContentType_withInvalidJson_isRefused() {
    assertThatThrownBy(() -> EtcdValueCodec.encode("not json".getBytes(UTF_8), "application/json"))
        .isInstanceOf(IllegalArgumentException.class)
        .hasMessageContaining("not valid JSON");
  }

  @Test
  void malformedEnvelope_readsAsRawOctetStream() {
    byte[] truncated = {0, 'L', 'S', '1', 10, 't', 'e'};
    byte[] zeroLength = {0, 'L', 'S', '1', 0, 'a'};
    byte[] controlChar = {0, 'L', 'S', '1', 2, 'a', 0x01, 'v'};
    for (byte[] b : new byte[][] {truncated, zeroLength, controlChar}) {
      EtcdValueCodec.Decoded d = EtcdValueCodec.decode(b);
      assertThat(d.contentType()).isEqualTo("application/octet-stream");
      assertThat(d.value()).isEqualTo(b);
    }
  }

  @Test
  void randomValues_roundTripForEveryContentType() {
    SplittableRandom r = new SplittableRandom(42);
    String[] types = {
      "application/octet-stream", "text/plain", "image/png", "application/x-lockstep+cbor"
    };
    for (int i = 0; i < 2_000; i++) {
      byte[] v = new byte[r.nextInt(64)];
      for (int j = 0; j < v.length; j++) {
        v[j] = (byte) r.nextInt(256);
      }
      String ct = types[r.nextInt(types.length)];
      EtcdValueCodec.Decoded d = EtcdValueCodec.decode(EtcdValueCodec.encode(v, ct));
      assertThat(d.contentType()).isEqualTo(ct);
      assertThat(d.value()).isEqualTo(v);
    }
  }

  @Test
  void deeplyNestedJson_beyondParserLimits_isNotJson() {
    byte[] deep = ("[".repeat(5_000) + "]".repeat(5_000)).getBytes(UTF_8);
    assertThat(EtcdValueCodec.isJson(deep)).isFalse();
  }
}
