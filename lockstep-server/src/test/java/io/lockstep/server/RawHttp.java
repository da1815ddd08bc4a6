package io.lockstep.server;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Map;

/**
 * HTTP/1.1 written by hand on a socket, for requests no client library sends: any method, any
 * request target (invalid percent-encodings, raw bytes), any {@code Host}, lying {@code
 * Content-Length}. One request per connection ({@code Connection: close} is added).
 */
final class RawHttp {
  private RawHttp() {}

  /** An answer: status, headers (names in lower case; the last of repeated ones), body. */
  record Answer(int status, Map<String, String> headers, byte[] body) {
    String text() {
      return new String(body, StandardCharsets.UTF_8);
    }

    String header(String name) {
      return headers.get(name.toLowerCase(Locale.ROOT));
    }
  }

  /**
   * Sends {@code head} (request line and headers, CRLF-separated, without the blank line) and
   * {@code body}, and reads the answer until the server closes.
   */
  static Answer send(int port, String head, byte[] body) throws IOException {
    try (Socket s = new Socket("127.0.0.1", port)) {
      s.setSoTimeout(20_000);
      OutputStream out = s.getOutputStream();
      out.write((head + "\r\nConnection: close\r\n\r\n").getBytes(StandardCharsets.ISO_8859_1));
      out.write(body);
      out.flush();
      try {
        s.shutdownOutput();
      } catch (IOException ignored) {
        // the server may have closed already
      }
      return parse(s.getInputStream().readAllBytes());
    }
  }

  static Answer send(int port, String method, String target, String host, String... headers)
      throws IOException {
    StringBuilder head = new StringBuilder(method + " " + target + " HTTP/1.1\r\nHost: " + host);
    for (int i = 0; i + 1 < headers.length; i += 2) {
      head.append("\r\n").append(headers[i]).append(": ").append(headers[i + 1]);
    }
    return send(port, head.toString(), new byte[0]);
  }

  static Answer parse(byte[] raw) throws IOException {
    int end = indexOf(raw, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
    if (end < 0) {
      throw new IOException(
          "no complete answer: '" + new String(raw, StandardCharsets.ISO_8859_1) + "'");
    }
    String[] lines = new String(raw, 0, end, StandardCharsets.ISO_8859_1).split("\r\n");
    String[] status = lines[0].split(" ", 3);
    Map<String, String> headers = new LinkedHashMap<>();
    for (int i = 1; i < lines.length; i++) {
      int colon = lines[i].indexOf(':');
      if (colon > 0) {
        headers.put(
            lines[i].substring(0, colon).strip().toLowerCase(Locale.ROOT),
            lines[i].substring(colon + 1).strip());
      }
    }
    byte[] rest = java.util.Arrays.copyOfRange(raw, end + 4, raw.length);
    if (status[1].startsWith("1")) { // an interim answer (100 Continue): the real one follows
      return parse(rest);
    }
    if ("chunked".equalsIgnoreCase(headers.get("transfer-encoding"))) {
      rest = dechunk(rest);
    }
    return new Answer(Integer.parseInt(status[1]), headers, rest);
  }

  private static byte[] dechunk(byte[] in) throws IOException {
    ByteArrayOutputStream out = new ByteArrayOutputStream();
    InputStream s = new java.io.ByteArrayInputStream(in);
    while (true) {
      StringBuilder size = new StringBuilder();
      int c;
      while ((c = s.read()) != '\n') {
        if (c < 0) {
          return out.toByteArray();
        }
        if (c != '\r') {
          size.append((char) c);
        }
      }
      int n = Integer.parseInt(size.toString().split(";")[0].strip(), 16);
      if (n == 0) {
        return out.toByteArray();
      }
      out.write(s.readNBytes(n));
      s.readNBytes(2);
    }
  }

  private static int indexOf(byte[] a, byte[] b) {
    outer:
    for (int i = 0; i + b.length <= a.length; i++) {
      for (int j = 0; j < b.length; j++) {
        if (a[i + j] != b[j]) {
          continue outer;
        }
      }
      return i;
    }
    return -1;
  }
}
