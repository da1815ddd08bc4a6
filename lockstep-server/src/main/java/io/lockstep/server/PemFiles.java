package io.lockstep.server;

import java.io.IOException;
import java.io.InputStream;
import java.io.Reader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.GeneralSecurityException;
import java.security.KeyStore;
import java.security.PrivateKey;
import java.security.cert.Certificate;
import java.security.cert.CertificateFactory;
import java.security.cert.X509Certificate;
import java.util.ArrayList;
import java.util.List;
import org.bouncycastle.asn1.pkcs.PrivateKeyInfo;
import org.bouncycastle.jce.provider.BouncyCastleProvider;
import org.bouncycastle.openssl.PEMEncryptedKeyPair;
import org.bouncycastle.openssl.PEMKeyPair;
import org.bouncycastle.openssl.PEMParser;
import org.bouncycastle.openssl.jcajce.JcaPEMKeyConverter;
import org.bouncycastle.openssl.jcajce.JceOpenSSLPKCS8DecryptorProviderBuilder;
import org.bouncycastle.openssl.jcajce.JcePEMDecryptorProviderBuilder;
import org.bouncycastle.operator.OperatorCreationException;
import org.bouncycastle.pkcs.PKCS8EncryptedPrivateKeyInfo;
import org.bouncycastle.pkcs.PKCSException;

/**
 * Reads PEM certificates (the JDK's {@link CertificateFactory}) and private keys (BouncyCastle's
 * {@link PEMParser}: PKCS#8, encrypted PKCS#8, OpenSSL's traditional RSA and EC keys, encrypted or
 * not) into in-memory key stores. Every failure is an {@link IOException} naming the file.
 */
final class PemFiles {
  /** Decrypts encrypted keys; never registered as a JCA provider of the process. */
  private static final BouncyCastleProvider BC = new BouncyCastleProvider();

  private PemFiles() {}

  /** Every certificate in {@code file}, in order; fails when there is none. */
  static List<X509Certificate> certificates(Path file) throws IOException {
    try (InputStream in = Files.newInputStream(file)) {
      List<X509Certificate> out = new ArrayList<>();
      for (Certificate c : CertificateFactory.getInstance("X.509").generateCertificates(in)) {
        out.add((X509Certificate) c);
      }
      if (out.isEmpty()) {
        throw new IOException(file + ": no PEM certificate in it");
      }
      return out;
    } catch (GeneralSecurityException e) {
      throw new IOException(file + ": not a PEM certificate file: " + e.getMessage(), e);
    }
  }

  /** The first private key in {@code file}, decrypted with {@code password} when encrypted. */
  static PrivateKey privateKey(Path file, char[] password) throws IOException {
    try (Reader r = Files.newBufferedReader(file, StandardCharsets.US_ASCII);
        PEMParser parser = new PEMParser(r)) {
      JcaPEMKeyConverter converter = new JcaPEMKeyConverter();
      Object o;
      while ((o = parser.readObject()) != null) {
        if (o instanceof PrivateKeyInfo info) {
          return converter.getPrivateKey(info);
        }
        if (o instanceof PEMKeyPair pair) {
          return converter.getKeyPair(pair).getPrivate();
        }
        if (o instanceof PKCS8EncryptedPrivateKeyInfo encrypted) {
          return converter.getPrivateKey(
              encrypted.decryptPrivateKeyInfo(
                  new JceOpenSSLPKCS8DecryptorProviderBuilder()
                      .setProvider(BC)
                      .build(requirePassword(file, password))));
        }
        if (o instanceof PEMEncryptedKeyPair encrypted) {
          return converter
              .getKeyPair(
                  encrypted.decryptKeyPair(
                      new JcePEMDecryptorProviderBuilder()
                          .setProvider(BC)
                          .build(requirePassword(file, password))))
              .getPrivate();
        }
      }
      throw new IOException(file + ": no PEM private key in it");
    } catch (PKCSException | OperatorCreationException e) {
      throw new IOException(file + ": cannot decrypt the key (wrong password?)", e);
    } catch (IOException e) {
      throw e.getMessage() != null && e.getMessage().startsWith(file.toString())
          ? e
          : new IOException(file + ": not a readable PEM private key: " + e.getMessage(), e);
    }
  }

  private static char[] requirePassword(Path file, char[] password) throws IOException {
    if (password == null) {
      throw new IOException(file + ": the key is encrypted; give its password file");
    }
    return password;
  }

  /** The first line of a password file, without its line end. */
  static char[] password(Path file) throws IOException {
    String s = Files.readString(file, StandardCharsets.UTF_8);
    int eol = s.indexOf('\n');
    String line = eol < 0 ? s : s.substring(0, eol);
    return (line.endsWith("\r") ? line.substring(0, line.length() - 1) : line).toCharArray();
  }

  /** A key store holding the key and its chain under the alias {@code lockstep}. */
  static KeyStore keyStore(List<X509Certificate> chain, PrivateKey key, char[] storePassword)
      throws IOException {
    if (!chain.get(0).getPublicKey().equals(publicOf(chain.get(0), key))) {
      throw new IOException("the private key does not belong to the first certificate");
    }
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      ks.setKeyEntry("lockstep", key, storePassword, chain.toArray(new Certificate[0]));
      return ks;
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot hold the key: " + e.getMessage(), e);
    }
  }

  /** A key store of trusted certificates. */
  static KeyStore trustStore(List<X509Certificate> cas) throws IOException {
    try {
      KeyStore ks = KeyStore.getInstance("PKCS12");
      ks.load(null, null);
      for (int i = 0; i < cas.size(); i++) {
        ks.setCertificateEntry("ca-" + i, cas.get(i));
      }
      return ks;
    } catch (GeneralSecurityException e) {
      throw new IOException("cannot hold the certificates: " + e.getMessage(), e);
    }
  }

  /**
   * The certificate's public key when the private key matches it (signs what it verifies), else
   * null.
   */
  private static java.security.PublicKey publicOf(X509Certificate cert, PrivateKey key)
      throws IOException {
    try {
      String alg =
          switch (key.getAlgorithm()) {
            case "RSA" -> "SHA256withRSA";
            case "EC" -> "SHA256withECDSA";
            case "Ed25519", "EdDSA" -> "Ed25519";
            default -> null;
          };
      if (alg == null) {
        return cert.getPublicKey(); // cannot check: let the handshake tell
      }
      byte[] probe = "lockstep key check".getBytes(StandardCharsets.US_ASCII);
      java.security.Signature s = java.security.Signature.getInstance(alg);
      s.initSign(key);
      s.update(probe);
      byte[] sig = s.sign();
      java.security.Signature v = java.security.Signature.getInstance(alg);
      v.initVerify(cert.getPublicKey());
      v.update(probe);
      return v.verify(sig) ? cert.getPublicKey() : null;
    } catch (GeneralSecurityException e) {
      return null;
    }
  }
}
