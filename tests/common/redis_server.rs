//! A redis-server child process for the Redis store's tests and benchmark: started on a free
//! loopback port with persistence off (plain, or TLS-only with a test CA), stopped (killed)
//! on drop. Needs `redis-server` on the
//! PATH: `cargo xtask setup` installs it (`cargo xtask test`, the README's test command, does
//! so first).
#![allow(dead_code)]

use std::net::{TcpListener, TcpStream};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// A redis-server child process on a free loopback port, killed on drop.
pub struct RedisServer {
    child: Option<Child>,
    pub port: u16,
    args: Vec<String>,
    _dir: tempfile::TempDir,
}

impl RedisServer {
    pub fn start(extra: &[&str]) -> Self {
        Self::start_on(None, extra)
    }

    /// A server that speaks only TLS, with a certificate for `localhost` and `127.0.0.1`
    /// issued by a fresh test CA (see [`RedisServer::ca_pem`]).
    pub fn start_tls() -> Self {
        Self::start_tls_for(&["localhost", "127.0.0.1"])
    }

    /// A TLS-only server whose certificate (from a fresh test CA) names `names`.
    pub fn start_tls_for(names: &[&str]) -> Self {
        Self::start_on(Some(names), &[])
    }

    fn start_on(tls_names: Option<&[&str]>, extra: &[&str]) -> Self {
        let tls = tls_names.is_some();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let dir = tempfile::tempdir().unwrap();
        let port_arg = port.to_string();
        let (plain, tls_port) = if tls {
            ("0", port_arg.as_str())
        } else {
            (port_arg.as_str(), "0")
        };
        let mut args: Vec<String> = [
            "--port",
            plain,
            "--tls-port",
            tls_port,
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
            "--dir",
            dir.path().to_str().unwrap(),
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        if let Some(names) = tls_names {
            let ca = write_test_certificates_for(dir.path(), names);
            for (flag, file) in [
                ("--tls-cert-file", "server.pem"),
                ("--tls-key-file", "server.key"),
                ("--tls-ca-cert-file", "ca.pem"),
            ] {
                args.push(flag.into());
                args.push(dir.path().join(file).to_str().unwrap().into());
            }
            args.extend(["--tls-auth-clients".into(), "no".into()]);
            std::fs::write(dir.path().join("ca.pem"), ca).unwrap();
        }
        args.extend(extra.iter().map(|s| s.to_string()));
        let mut server = Self {
            child: None,
            port,
            args,
            _dir: dir,
        };
        server.run();
        server
    }

    pub fn run(&mut self) {
        let child = Command::new("redis-server")
            .args(&self.args)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect(
                "redis-server not found: run `cargo xtask setup` (apt-get install redis-server)",
            );
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(10);
        while TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "redis-server did not start");
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Freezes the server (SIGSTOP): connections stay open and nothing answers.
    pub fn pause(&self) {
        self.signal("-STOP");
    }

    /// Resumes a paused server (SIGCONT).
    pub fn resume(&self) {
        self.signal("-CONT");
    }

    fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        // The shell's own `kill`: no procps needed.
        let status = Command::new("sh")
            .args(["-c", &format!("kill {signal} {pid}")])
            .status()
            .unwrap();
        assert!(status.success());
    }

    /// Runs one command on the server (for test set-up), with `password` if it has one.
    pub fn command(&self, password: Option<&str>, args: &[&str]) -> redis::Value {
        let url = match password {
            Some(p) => format!("redis://:{p}@127.0.0.1:{}", self.port),
            None => self.url(),
        };
        let mut con = redis::Client::open(url).unwrap().get_connection().unwrap();
        let mut cmd = redis::cmd(args[0]);
        for a in &args[1..] {
            cmd.arg(*a);
        }
        cmd.query(&mut con).unwrap()
    }

    /// How many clients are connected, not counting the one this call opens (no password).
    pub fn other_clients(&self) -> usize {
        let info: String =
            redis::from_redis_value(self.command(None, &["INFO", "clients"])).unwrap();
        let connected: usize = info
            .lines()
            .find_map(|l| l.strip_prefix("connected_clients:"))
            .expect("connected_clients in INFO")
            .trim()
            .parse()
            .unwrap();
        connected - 1
    }

    /// Every replay key on the server (no password) with its remaining time to live (ms).
    pub fn replay_keys_with_ttl(&self) -> Vec<(String, i64)> {
        let mut con = redis::Client::open(self.url())
            .unwrap()
            .get_connection()
            .unwrap();
        let keys: Vec<String> = redis::cmd("KEYS")
            .arg("eventseal:replay:v1:*")
            .query(&mut con)
            .unwrap();
        keys.into_iter()
            .map(|k| {
                let ttl_ms: i64 = redis::cmd("PTTL").arg(&k).query(&mut con).unwrap();
                (k, ttl_ms)
            })
            .collect()
    }

    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    /// The `rediss://` URL of a TLS server.
    pub fn tls_url(&self) -> String {
        format!("rediss://localhost:{}", self.port)
    }

    /// The test CA's certificate (PEM) of a TLS server.
    pub fn ca_pem(&self) -> Vec<u8> {
        std::fs::read(self._dir.path().join("ca.pem")).unwrap()
    }
}

/// Writes `server.pem` and `server.key` (for `localhost` and `127.0.0.1`, issued by a fresh
/// CA) into `dir`; returns the CA certificate (PEM).
pub fn write_test_certificates(dir: &std::path::Path) -> String {
    write_test_certificates_for(dir, &["localhost", "127.0.0.1"])
}

/// As [`write_test_certificates`], for a server certificate naming `names`.
pub fn write_test_certificates_for(dir: &std::path::Path, names: &[&str]) -> String {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca_params = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca_params
        .distinguished_name
        .push(rcgen::DnType::CommonName, "eventseal test CA");
    let ca_cert = ca_params.self_signed(&ca_key).unwrap();
    let issuer = rcgen::Issuer::new(ca_params, ca_key);
    let server_key = rcgen::KeyPair::generate().unwrap();
    let names: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    let server_params = rcgen::CertificateParams::new(names).unwrap();
    let server_cert = server_params.signed_by(&server_key, &issuer).unwrap();
    std::fs::write(dir.join("server.pem"), server_cert.pem()).unwrap();
    std::fs::write(dir.join("server.key"), server_key.serialize_pem()).unwrap();
    ca_cert.pem()
}

impl Drop for RedisServer {
    fn drop(&mut self) {
        self.stop();
    }
}
