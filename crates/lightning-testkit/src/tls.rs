//! Throwaway certificates for TLS tests, made with the `openssl` command line.

use std::path::{Path, PathBuf};
use std::process::Command;

/// A CA, a server certificate it signed (for localhost and 127.0.0.1), and a
/// second CA that signed nothing here.
pub struct Pki {
    dir: tempfile::TempDir,
}

impl Default for Pki {
    fn default() -> Self {
        Pki::new()
    }
}

impl Pki {
    pub fn new() -> Pki {
        let dir = tempfile::tempdir().unwrap();
        let ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];
        for (name, cn) in [("ca", "lightning test CA"), ("other", "another CA")] {
            openssl(
                dir.path(),
                &[
                    &["req", "-x509", "-nodes", "-days", "2"],
                    &ec[..],
                    &[
                        "-keyout",
                        &format!("{name}.key"),
                        "-out",
                        &format!("{name}.pem"),
                        "-subj",
                        &format!("/CN={cn}"),
                    ],
                ],
            );
        }
        openssl(
            dir.path(),
            &[
                &["req", "-new", "-nodes"],
                &ec[..],
                &[
                    "-keyout",
                    "server.key",
                    "-out",
                    "server.csr",
                    "-subj",
                    "/CN=localhost",
                ],
            ],
        );
        std::fs::write(
            dir.path().join("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\nbasicConstraints=CA:FALSE\n\
             extendedKeyUsage=serverAuth\n",
        )
        .unwrap();
        openssl(
            dir.path(),
            &[&[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "server.ext",
                "-out",
                "server.pem",
            ]],
        );
        Pki { dir }
    }

    /// `ca.pem`, `server.pem`, `server.key`, `other.pem` (and their keys).
    pub fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }
}

fn openssl(dir: &Path, args: &[&[&str]]) {
    let args: Vec<&str> = args.concat();
    let out = Command::new("openssl")
        .args(&args)
        .current_dir(dir)
        .output()
        .expect("these tests need the openssl command");
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}
