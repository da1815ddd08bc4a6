package io.lockstep.server;

import jakarta.servlet.http.HttpServletRequest;
import jakarta.servlet.http.HttpServletResponse;
import java.io.IOException;
import java.nio.ByteBuffer;
import org.eclipse.jetty.http.HttpFields;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpStatus;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.handler.ErrorHandler;

/**
 * Jetty's own error answers (a request line or header Jetty refuses before any route runs) in the
 * same JSON shape as every other error, instead of Jetty's HTML page.
 */
final class JsonErrorHandler extends ErrorHandler {
  static final String STOPPING = "this instance is stopping; retry on another instance";

  @Override
  public boolean errorPageForMethod(String method) {
    return true; // PUT and DELETE errors get a body too
  }

  @Override
  protected void generateAcceptableResponse(
      Request baseRequest,
      HttpServletRequest request,
      HttpServletResponse response,
      int code,
      String message)
      throws IOException {
    baseRequest.setHandled(true);
    if (response.isCommitted()) {
      return;
    }
    byte[] body = body(code, message);
    if (code == 503) {
      // Jetty answers 503 itself only while stopping (a request on a connection still open)
      body = Json.bytes(new ErrorMapper.ErrorBody(ErrorMapper.NOT_READY, STOPPING));
      response.setHeader(ErrorMapper.RETRY_AFTER, ErrorMapper.RETRY_AFTER_SECONDS);
    }
    response.setContentType(Json.CONTENT_TYPE);
    response.setHeader(Headers.NOSNIFF, "nosniff");
    response.setContentLength(body.length);
    response.getOutputStream().write(body);
  }

  @Override
  public ByteBuffer badMessageError(int status, String reason, HttpFields.Mutable fields) {
    fields.put(HttpHeader.CONTENT_TYPE, Json.CONTENT_TYPE);
    fields.put(Headers.NOSNIFF, "nosniff");
    if (status == 503) {
      fields.put(ErrorMapper.RETRY_AFTER, ErrorMapper.RETRY_AFTER_SECONDS);
    }
    fields.put(AccessLog.HEADER, AccessLog.newId()); // refused before a request existed
    return ByteBuffer.wrap(body(status, reason));
  }

  private static byte[] body(int status, String reason) {
    String message =
        reason == null || reason.isBlank()
            ? "HTTP " + status + " " + HttpStatus.getMessage(status)
            : reason;
    return Json.bytes(new ErrorMapper.ErrorBody(ErrorMapper.codeFor(status), message));
  }
}
