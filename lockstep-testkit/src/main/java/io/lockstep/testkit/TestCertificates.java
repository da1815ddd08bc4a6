package io.lockstep.testkit;

import java.io.IOException;
import java.io.StringWriter;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.security.GeneralSecurityException;
import java.security.KeyPair;
import java.security.KeyPairGenerator;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.SecureRandom;
import java.security.cert.X509Certificate;
import java.security.spec.ECGenParameterSpec;
import java.time.Duration;
import java.time.Instant;
import java.util.Date;
import java.util.concurrent.atomic.AtomicLong;
import javax.net.ssl.KeyManagerFactory;
import javax.net.ssl.SSLContext;
import javax.net.ssl.TrustManagerFactory;
import org.bouncycastle.asn1.x500.X500Name;
import org.bouncycastle.asn1.x509.BasicConstraints;
import org.bouncycastle.asn1.x509.ExtendedKeyUsage;
import org.bouncycastle.asn1.x509.Extension;
import org.bouncycastle.asn1.x509.GeneralName;
import org.bouncycastle.asn1.x509.GeneralNames;
import org.bouncycastle.asn1.x509.KeyPurposeId;
import org.bouncycastle.asn1.x509.KeyUsage;
import org.bouncycastle.cert.X509v3CertificateBuilder;
import org.bouncycastle.cert.jcajce.JcaX509CertificateConverter;
import org.bouncycastle.cert.jcajce.JcaX509ExtensionUtils;
import org.bouncycastle.cert.jcajce.JcaX509v3CertificateBuilder;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.jcajce.JcaPEMWriter;
import org.bouncycastle.openssl.jcajce.JcaPKCS8Generator;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8EncryptorBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.operator.jcajce.JcaContentSignerBuilder;

/**
 * Throwaway certificate authorities and certificates, made at test time (EC P-256, valid from an
 * hour ago for a day): a {@link Ca} issues {@link Issued} certificates for TLS servers (SAN {@code
 * IP:127.0.0.1}, {@code DNS:localhost}) and clients, written as PEM files for the processes under
 * test and turned into {@link SSLContext}s for the test's own clients.
 */
public final class TestCertificates {
  private static final BouncyCastleProvider BC = new BouncyCastleProvider();
  private static final SecureRandom RANDOM = new SecureRandom();
  private static final AtomicLong SERIALS = new AtomicLong(System.currentTimeMillis());

  private TestCertificates() {}

  /** A new self-signed CA named {@code CN=<name>}. */
  public static Ca newCa(String name) {
    KeyPair kp = keyPair();
    X500Name subject = new X500Name("CN=" + name);
    try {
      JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
      X509v3CertificateBuilder b =
          builder(subject, subject, kp)
              .addExtension(Extension.basicConstraints, true, new BasicConstraints(true))
              .addExtension(
                  Extension.keyUsage, true, new KeyUsage(KeyUsage.keyCertSign | KeyUsage.cRLSign))
              .addExtension(
                  Extension.subjectKeyIdentifier,
                  false,
                  ext.createSubjectKeyIdentifier(kp.getPublic()));
      return new Ca(sign(b, kp.getPrivate()), kp.getPrivate());
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  /** A certificate authority that issues certificates. */
  public static final class Ca {
    private final X509Certificate certificate;
    private final PrivateKey key;

    private Ca(X509Certificate certificate, PrivateKey key) {
      this.certificate = certificate;
      this.key = key;
    }

    public X509Certificate certificate() {
      return certificate;
    }

    /**
     * A certificate for {@code CN=<name>} good for TLS servers and clients alike, with SAN {@code
     * IP:127.0.0.1} and {@code DNS:localhost}.
     */
    public Issued issue(String name) {
      return issue(name, true, true);
    }

    /** A certificate for TLS clients only (no SAN). */
    public Issued issueClient(String name) {
      return issue(name, false, true);
    }

    private Issued issue(String name, boolean server, boolean client) {
      KeyPair kp = keyPair();
      try {
        JcaX509ExtensionUtils ext = new JcaX509ExtensionUtils();
        KeyPurposeId[] purposes =
            server && client
                ? new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth, KeyPurposeId.id_kp_clientAuth}
                : server
                    ? new KeyPurposeId[] {KeyPurposeId.id_kp_serverAuth}
                    : new KeyPurposeId[] {KeyPurposeId.id_kp_clientAuth};
        X509v3CertificateBuilder b =
            builder(
                    new X500Name(certificate.getSubjectX500Principal().getName()),
                    new X500Name("CN=" + name),
                    kp)
                .addExtension(Extension.basicConstraints, true, new BasicConstraints(false))
                .addExtension(
                    Extension.keyUsage,
                    true,
                    new KeyUsage(KeyUsage.digitalSignature | KeyUsage.keyAgreement))
                .addExtension(Extension.extendedKeyUsage, false, new ExtendedKeyUsage(purposes))
                .addExtension(
                    Extension.authorityKeyIdentifier,
                    false,
                    ext.createAuthorityKeyIdentifier(certificate));
        if (server) {
          b.addExtension(
              Extension.subjectAlternativeName,
              false,
              new GeneralNames(
                  new GeneralName[] {
                    new GeneralName(GeneralName.iPAddress, "127.0.0.1"),
                    new GeneralName(GeneralName.dNSName, "localhost")
                  }));
        }
        return new Issued(sign(b, key), kp.getPrivate(), this);
      } catch (IOException | GeneralSecurityException e) {
        throw new IllegalStateException(e);
      }
    }

    /** Writes the CA certificate as PEM to {@code file} (replaced atomically); returns it. */
    public Path writePem(Path file) {
      return write(file, pem(certificate));
    }

    /** A client context that trusts this CA only and presents no certificate. */
    public SSLContext trustingContext() {
      return context(this, null);
    }
  }

  /** A certificate with its private key, issued by {@link #ca()}. */
  public record Issued(X509Certificate certificate, PrivateKey key, Ca ca) {
    /** The certificate's serial number. */
    public BigInteger serial() {
      return certificate.getSerialNumber();
    }

    /** Writes the certificate as PEM (replaced atomically); returns the file. */
    public Path writeCertificate(Path file) {
      return write(file, pem(certificate));
    }

    /** Writes the key as unencrypted PKCS#8 PEM (replaced atomically); returns the file. */
    public Path writeKey(Path file) {
      return write(file, pem(key));
    }

    /**
     * Writes the key as encrypted PKCS#8 PEM (PBES2, AES-256-CBC) with {@code password}; returns
     * the file.
     */
    public Path writeEncryptedKey(Path file, String password) {
      try {
        JcaPKCS8Generator gen =
            new JcaPKCS8Generator(
                key,
                new JceOpenSSLPKCS8EncryptorBuilder(JcaPKCS8Generator.AES_256_CBC)
                    .setProvider(BC)
                    .setRandom(RANDOM)
                    .setPassword(password.toCharArray())
                    .build());
        StringWriter w = new StringWriter();
        try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
          pw.writeObject(gen.generate());
        }
        return write(file, w.toString());
      } catch (IOException | OperatorCreationException e) {
        throw new IllegalStateException(e);
      }
    }

    /** A client context that trusts the issuing CA and presents this certificate. */
    public SSLContext clientContext() {
      return context(ca, this);
    }
  }

  private static SSLContext context(Ca trusted, Issued own) {
    try {
      KeyStore trust = KeyStore.getInstance("PKCS12");
      trust.load(null, null);
      trust.setCertificateEntry("ca", trusted.certificate);
      TrustManagerFactory tmf =
          TrustManagerFactory.getInstance(TrustManagerFactory.getDefaultAlgorithm());
      tmf.init(trust);
      KeyManagerFactory kmf = null;
      if (own != null) {
        char[] pw = "test".toCharArray();
        KeyStore ks = KeyStore.getInstance("PKCS12");
        ks.load(null, null);
        ks.setKeyEntry("me", own.key, pw, new java.security.cert.Certificate[] {own.certificate});
        kmf = KeyManagerFactory.getInstance(KeyManagerFactory.getDefaultAlgorithm());
        kmf.init(ks, pw);
      }
      SSLContext ctx = SSLContext.getInstance("TLS");
      ctx.init(kmf == null ? null : kmf.getKeyManagers(), tmf.getTrustManagers(), RANDOM);
      return ctx;
    } catch (IOException | GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static KeyPair keyPair() {
    try {
      KeyPairGenerator g = KeyPairGenerator.getInstance("EC");
      g.initialize(new ECGenParameterSpec("secp256r1"), RANDOM);
      return g.generateKeyPair();
    } catch (GeneralSecurityException e) {
      throw new IllegalStateException(e);
    }
  }

  private static X509v3CertificateBuilder builder(X500Name issuer, X500Name subject, KeyPair kp) {
    Instant now = Instant.now();
    return new JcaX509v3CertificateBuilder(
        issuer,
        BigInteger.valueOf(SERIALS.incrementAndGet()),
        Date.from(now.minus(Duration.ofHours(1))),
        Date.from(now.plus(Duration.ofDays(1))),
        subject,
        kp.getPublic());
  }

  private static X509Certificate sign(X509v3CertificateBuilder b, PrivateKey signer)
      throws GeneralSecurityException {
    try {
      return new JcaX509CertificateConverter()
          .getCertificate(b.build(new JcaContentSignerBuilder("SHA256withECDSA").build(signer)));
    } catch (OperatorCreationException e) {
      throw new GeneralSecurityException(e);
    }
  }

  private static String pem(Object o) {
    StringWriter w = new StringWriter();
    try (JcaPEMWriter pw = new JcaPEMWriter(w)) {
      pw.writeObject(
          o instanceof PrivateKey k
              ? new org.bouncycastle.openssl.jcajce.JcaPKCS8Generator(k, null).generate()
              : o);
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
    return w.toString();
  }

  private static Path write(Path file, String content) {
    try {
      Path tmp = Files.createTempFile(file.toAbsolutePath().getParent(), ".pem-", ".tmp");
      Files.writeString(tmp, content, StandardCharsets.US_ASCII);
      Files.move(tmp, file, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
      return file;
    } catch (IOException e) {
      throw new UncheckedIOException(e);
    }
  }
}
