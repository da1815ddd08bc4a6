package io.lockstep.testkit;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

/**
 * A TCP forwarder on a free loopback port, to put one client's path to a server under a test's
 * control without touching the server or other clients: {@link #pause()} stops forwarding bytes
 * while connections stay open (a partition, or a frozen route), {@link #cut()} drops every
 * connection at once (a reset), {@link #resume()} forwards again, and {@link #cutOnNextReply()}
 * lets a request through but drops its answer and resets the connection (an answer lost on the way
 * back, the case that tells at-most-once from at-least-once clients).
 *
 * <p>Each connection uses two daemon threads, one per direction. Thread safe; no dependency on a
 * test framework.
 */
public final class TcpProxy implements AutoCloseable {
  private volatile InetSocketAddress target;
  private final ServerSocket server;
  private final Set<Socket> sockets = ConcurrentHashMap.newKeySet();
  private final ReentrantLock lock = new ReentrantLock();
  private final Condition opened = lock.newCondition();
  private final AtomicBoolean closeOnReply = new AtomicBoolean();
  private volatile boolean paused;
  private volatile boolean closed;
  private volatile long generation;

  /** Starts forwarding 127.0.0.1:{@link #port()} to {@code host:port}. */
  public TcpProxy(String host, int port) {
    this.target = new InetSocketAddress(host, port);
    try {
      server = new ServerSocket();
      server.bind(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0));
    } catch (IOException e) {
      throw new UncheckedIOException("binding a proxy port failed", e);
    }
    daemon("tcp-proxy-accept-" + port(), this::acceptLoop).start();
  }

  /**
   * Sends connections opened from now on to {@code host:port} (a failover behind a fixed address);
   * open ones stay with the old target until {@link #cut()}.
   */
  public void retarget(String host, int port) {
    this.target = new InetSocketAddress(host, port);
  }

  /** The port clients connect to. */
  public int port() {
    return server.getLocalPort();
  }

  /** {@code 127.0.0.1:port} for clients. */
  public String endpoint() {
    return "127.0.0.1:" + port();
  }

  /**
   * Stops forwarding in both directions; connections stay open and new ones are accepted but stall.
   */
  public void pause() {
    paused = true;
  }

  /** Forwards again, including what was held back. */
  public void resume() {
    lock.lock();
    try {
      paused = false;
      opened.signalAll();
    } finally {
      lock.unlock();
    }
  }

  /** Drops every open connection with a reset; bytes held back are lost. New connections work. */
  public void cut() {
    lock.lock();
    try {
      generation++;
      opened.signalAll();
    } finally {
      lock.unlock();
    }
    for (Socket s : sockets) {
      reset(s);
    }
  }

  /**
   * Arms a one-shot drop: the next bytes any connection receives from the server are dropped, that
   * connection's client side is closed in order (a FIN, as when a server, a proxy or a load
   * balancer closes it) and its server side reset. What the client sent meanwhile did reach the
   * server; its answer never reaches the client. New connections work.
   */
  public void closeOnNextReply() {
    closeOnReply.set(true);
  }

  @Override
  public void close() {
    closed = true;
    try {
      server.close();
    } catch (IOException ignored) {
      // closing anyway
    }
    cut();
  }

  private void acceptLoop() {
    while (!closed) {
      Socket client;
      try {
        client = server.accept();
      } catch (IOException e) {
        return; // closed
      }
      Socket upstream = new Socket();
      try {
        upstream.connect(target, 5_000);
      } catch (IOException e) {
        reset(client);
        continue;
      }
      sockets.add(client);
      sockets.add(upstream);
      long gen = generation;
      daemon("tcp-proxy-up-" + port(), () -> pump(client, upstream, gen, false)).start();
      daemon("tcp-proxy-down-" + port(), () -> pump(upstream, client, gen, true)).start();
    }
  }

  private void pump(Socket from, Socket to, long gen, boolean fromServer) {
    byte[] buf = new byte[16 * 1024];
    try (InputStream in = from.getInputStream();
        OutputStream out = to.getOutputStream()) {
      for (int n; (n = in.read(buf)) >= 0; ) {
        if (!awaitOpen(gen)) {
          break;
        }
        if (fromServer && closeOnReply.compareAndSet(true, false)) {
          sockets.remove(to);
          to.close(); // an orderly close: the answer is lost on the way back
          break;
        }
        out.write(buf, 0, n);
        out.flush();
      }
    } catch (IOException e) {
      // a side went away
    } finally {
      reset(from);
      reset(to);
    }
  }

  /** Waits while paused; false when this connection was cut meanwhile. */
  private boolean awaitOpen(long gen) {
    lock.lock();
    try {
      while (paused && gen == generation && !closed) {
        opened.awaitUninterruptibly();
      }
      return gen == generation && !closed;
    } finally {
      lock.unlock();
    }
  }

  private void reset(Socket s) {
    sockets.remove(s);
    try {
      s.setSoLinger(true, 0);
    } catch (IOException ignored) {
      // already closed
    }
    try {
      s.close();
    } catch (IOException ignored) {
      // already closed
    }
  }

  private static Thread daemon(String name, Runnable r) {
    Thread t = new Thread(r, name);
    t.setDaemon(true);
    return t;
  }
}
