//! Why an import was refused; each message says what to do.

/// A refused certificate import. Nothing is stored when one occurs.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ImportError {
    /// Not PEM, or a PEM block cut short.
    #[error("the file is not a complete PEM file ({0}); check that it was copied whole")]
    BadPem(String),
    /// No certificate in the file.
    #[error("no certificate (-----BEGIN CERTIFICATE-----) in the file")]
    NoCertificate,
    /// No private key in the file(s).
    #[error(
        "no private key in the file; give the key file too (PEM: PRIVATE KEY, RSA PRIVATE KEY, EC PRIVATE KEY or ENCRYPTED PRIVATE KEY)"
    )]
    NoKey,
    /// More than one private key.
    #[error("more than one private key; keep only the certificate's own")]
    SeveralKeys,
    /// A key encrypted the OpenSSL 1.0 way (`Proc-Type: 4,ENCRYPTED`).
    #[error(
        "the private key uses OpenSSL's legacy encryption; convert it with `openssl pkcs8 -topk8 -in old.key -out new.key` (PKCS#8, keeps a passphrase)"
    )]
    LegacyEncryptedKey,
    /// An encrypted key and no passphrase.
    #[error("the private key is encrypted; give its passphrase")]
    PassphraseNeeded,
    /// The passphrase or PKCS#12 password does not open it.
    #[error("wrong {what}")]
    WrongPassword {
        /// "passphrase" or "PKCS#12 password".
        what: &'static str,
    },
    /// A PKCS#12 file that cannot be read.
    #[error("the PKCS#12 file cannot be read ({0}); export it again (openssl pkcs12 -export)")]
    BadPkcs12(String),
    /// A PKCS#12 file without a key and its certificate.
    #[error("the PKCS#12 file holds no private key with its certificate")]
    Pkcs12WithoutKeyChain,
    /// A certificate that cannot be parsed.
    #[error("certificate {index} of the chain cannot be read ({reason})")]
    BadCertificate {
        /// Position in the chain, 1 = the leaf.
        index: usize,
        /// The parser's reason.
        reason: String,
    },
    /// A key type rustls cannot use.
    #[error(
        "the private key is of a type Outpost cannot use; use RSA (2048 bits or more) or ECDSA P-256/P-384"
    )]
    UnsupportedKey,
    /// The key belongs to another certificate.
    #[error(
        "the private key does not match the certificate {subject}; give the key made with this certificate's request"
    )]
    KeyMismatch {
        /// The leaf's subject.
        subject: String,
    },
    /// The chain is not leaf first, each certificate followed by its issuer.
    #[error(
        "certificate {index} ({subject}) is not the issuer of the one before it; order the chain leaf first, then each issuer"
    )]
    ChainOrder {
        /// Position of the certificate out of place, 1 = the leaf.
        index: usize,
        /// Its subject.
        subject: String,
    },
    /// The leaf has expired.
    #[error("the certificate {subject} expired at {not_after} (Unix seconds); renew it")]
    Expired {
        /// The leaf's subject.
        subject: String,
        /// Its end of validity.
        not_after: i64,
    },
    /// The leaf is not valid yet.
    #[error(
        "the certificate {subject} is valid only from {not_before} (Unix seconds); check the clock or wait"
    )]
    NotYetValid {
        /// The leaf's subject.
        subject: String,
        /// Its start of validity.
        not_before: i64,
    },
}
