//! An nginx TLS proxy in front of Garage with a test CA made here (rcgen):
//! the certificate's names and validity window are chosen per test, so a
//! valid, a nearly expired, an expired and a misnamed certificate can each
//! be served. nginx is Debian's, run in the foreground on a free loopback
//! port with all its files in a temporary folder; dropped, it is stopped.
//! The API directives are those of templates/nginx.conf.tera (Host
//! $http_host for SigV4, no buffering); the template itself listens on
//! 80/443 with fixed names, which a test cannot use.

use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, Issuer, KeyPair};
use time::OffsetDateTime;

/// A test certificate authority.
pub struct TestCa {
    params: CertificateParams,
    key: KeyPair,
    pem: String,
}

impl TestCa {
    pub fn new() -> TestCa {
        let key = KeyPair::generate().expect("CA key");
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("CA params");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "chronotrace-ops test CA");
        let pem = params.self_signed(&key).expect("CA certificate").pem();
        TestCa { params, key, pem }
    }

    /// Writes the CA certificate (the --ca-bundle) into `dir`.
    pub fn write_bundle(&self, dir: &Path) -> PathBuf {
        let path = dir.join("ca.pem");
        std::fs::write(&path, &self.pem).expect("write CA bundle");
        path
    }

    /// A server certificate for `name`, valid from `not_before` to `not_after`:
    /// (certificate PEM, key PEM).
    pub fn issue(
        &self,
        name: &str,
        not_before: OffsetDateTime,
        not_after: OffsetDateTime,
    ) -> (String, String) {
        let key = KeyPair::generate().expect("server key");
        let mut params = CertificateParams::new(vec![name.to_string()]).expect("server params");
        params.distinguished_name.push(DnType::CommonName, name);
        params.not_before = not_before;
        params.not_after = not_after;
        let issuer = Issuer::from_params(&self.params, &self.key);
        let cert = params.signed_by(&key, &issuer).expect("sign");
        (cert.pem(), key.serialize_pem())
    }
}

/// A running nginx; stopped when dropped.
pub struct Proxy {
    child: Child,
    pub port: u16,
    dir: PathBuf,
}

impl Proxy {
    /// Serves `cert`/`key` on a free loopback port, proxying to `upstream`
    /// (`host:port`).
    pub fn start(nginx: &Path, dir: &Path, upstream: &str, cert: &str, key: &str) -> Proxy {
        let port = free_port();
        std::fs::write(dir.join("server.pem"), cert).expect("write cert");
        std::fs::write(dir.join("server.key"), key).expect("write key");
        let conf = dir.join("nginx.conf");
        std::fs::write(&conf, config(dir, port, upstream)).expect("write nginx.conf");
        let child = Command::new(nginx)
            .arg("-p")
            .arg(dir)
            .arg("-e")
            .arg(dir.join("error.log"))
            .arg("-c")
            .arg(&conf)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("nginx starts");
        let mut proxy = Proxy {
            child,
            port,
            dir: dir.to_path_buf(),
        };
        proxy.wait_listening();
        proxy
    }

    /// The endpoint URL for the spec.
    pub fn url(&self) -> String {
        format!("https://localhost:{}", self.port)
    }

    fn wait_listening(&mut self) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while Instant::now() < deadline {
            if TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            if let Ok(Some(status)) = self.child.try_wait() {
                let log = std::fs::read_to_string(self.dir.join("error.log")).unwrap_or_default();
                panic!("nginx exited ({status}): {log}");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        panic!("nginx did not listen on port {} within 10s", self.port);
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        // SIGTERM to the master we started (by its pid): it stops its workers.
        let _ = Command::new("kill")
            .arg(self.child.id().to_string())
            .status();
        let _ = self.child.wait();
    }
}

fn free_port() -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a loopback port");
    listener.local_addr().expect("local address").port()
}

fn config(dir: &Path, port: u16, upstream: &str) -> String {
    let d = dir.display();
    format!(
        r#"daemon off;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/error.log;
events {{ worker_connections 64; }}
http {{
    access_log off;
    client_body_temp_path {d}/body;
    proxy_temp_path {d}/proxy;
    fastcgi_temp_path {d}/fastcgi;
    uwsgi_temp_path {d}/uwsgi;
    scgi_temp_path {d}/scgi;
    ssl_protocols TLSv1.2 TLSv1.3;
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {d}/server.pem;
        ssl_certificate_key {d}/server.key;
        client_max_body_size 0;
        proxy_buffering off;
        proxy_request_buffering off;
        location / {{
            proxy_pass http://{upstream};
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_set_header Host $http_host;
            proxy_set_header X-Forwarded-Proto https;
        }}
    }}
}}
"#
    )
}
