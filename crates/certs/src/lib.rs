//! Certificates an installer brings (SPEC SEC-8, issue 17 item 1): a PEM
//! chain with its key (RSA or ECDSA; PKCS#8, PKCS#1 or SEC1; plain or
//! PKCS#8-encrypted with a passphrase) or a PKCS#12 file with its
//! password, checked before anything uses it: the key matches the first
//! certificate, each certificate's issuer name is the next one's subject
//! (the chain is in order, leaf first; signatures are the peer's to
//! verify), the leaf is valid now, and the names
//! it covers are listed (wildcards included).
//!
//! No clock anywhere (the caller passes the time), and no I/O but in
//! [`store`], the certificate store on disk that the CLI, the REST API and
//! `outpost serve` share; [`sni`] picks a certificate for a client's SNI.
//! Crates: `pkcs8` decrypts PKCS#8 keys,
//! `p12-keystore` reads PKCS#12 (the one ARCHITECTURE.md names),
//! `x509-parser` reads certificates, rustls' aws-lc-rs provider checks
//! that the key is usable and matches. PEM blocks are read here (a few
//! lines): the generic readers skip `ENCRYPTED PRIVATE KEY` blocks and
//! cannot say which block is cut short.

pub mod acme_requests;
mod error;
mod import;
mod info;
pub mod sni;
pub mod store;

pub use error::ImportError;
pub use import::{CertificateBundle, import_pem, import_pkcs12};
pub use info::{CertificateInfo, name_covered};
