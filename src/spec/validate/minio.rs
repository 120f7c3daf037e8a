//! The `minio:` section: topology, names, the pinned image and TLS files.

use serde_saphyr::Spanned;

use super::Checker;
use super::values::check_image_pinned;
use crate::spec::names;
use crate::spec::raw::RawMinio;
use crate::spec::{DEFAULT_MINIO_IMAGE, Minio, MinioMode};

impl Checker<'_> {
    pub(super) fn minio(&mut self, raw: Spanned<RawMinio>) -> Option<Minio> {
        let m = raw.value;
        let before = self.problems.len();
        let mode = match m.mode.as_ref().map(|v| v.value.as_str()) {
            None | Some("single") => MinioMode::Single,
            Some("distributed") => MinioMode::Distributed,
            Some(other) => {
                let loc = m.mode.as_ref().map_or(raw.referenced, |v| v.referenced);
                self.problem(
                    &loc,
                    "minio.mode",
                    format!("minio.mode '{other}' is not one of: single, distributed"),
                );
                MinioMode::Single
            }
        };
        let default_nodes = if mode == MinioMode::Single { 1 } else { 4 };
        let nodes = self.count(m.nodes.as_ref(), default_nodes, "minio.nodes");
        let drives = self.count(m.drives_per_node.as_ref(), 1, "minio.drives_per_node");
        match mode {
            MinioMode::Single if nodes != 1 => {
                let loc = m.nodes.as_ref().map_or(raw.referenced, |v| v.referenced);
                self.problem(
                    &loc,
                    "minio.single-node",
                    format!(
                        "mode single runs one node, got nodes: {nodes} (use mode: distributed)"
                    ),
                );
            }
            MinioMode::Distributed if nodes.saturating_mul(drives) < 4 => {
                let loc = m.nodes.as_ref().map_or(raw.referenced, |v| v.referenced);
                self.problem(
                    &loc,
                    "minio.erasure-set",
                    format!("distributed mode needs at least 4 drives in total for erasure coding, got {nodes} nodes × {drives} drives"),
                );
            }
            _ => {}
        }
        let domain = m.domain.value.trim().to_string();
        if !names::is_hostname(&domain) {
            self.problem(
                &m.domain.referenced,
                "minio.domain",
                format!("minio.domain '{domain}' is not a host name"),
            );
        }
        let console_domain = match &m.console_domain {
            Some(raw) if !names::is_hostname(&raw.value) || raw.value == domain => {
                self.problem(
                    &raw.referenced,
                    "minio.domain",
                    format!(
                        "minio.console_domain '{}' must be a host name other than minio.domain",
                        raw.value
                    ),
                );
                String::new()
            }
            Some(raw) => raw.value.clone(),
            None => format!("console.{domain}"),
        };
        let image = match &m.image {
            None => DEFAULT_MINIO_IMAGE.to_string(),
            Some(raw) => {
                if let Err(message) = check_image_pinned(&raw.value) {
                    self.problem(&raw.referenced, "minio.image-pinned", message);
                }
                raw.value.clone()
            }
        };
        for file in [&m.tls.value.certificate, &m.tls.value.key] {
            if file.value.trim().is_empty() {
                self.problem(
                    &file.referenced,
                    "minio.tls",
                    "minio.tls certificate and key must name files".into(),
                );
            }
        }
        (self.problems.len() == before).then(|| Minio {
            mode,
            nodes,
            drives_per_node: drives,
            domain,
            console_domain,
            image,
            tls_certificate: m.tls.value.certificate.value.clone(),
            tls_key: m.tls.value.key.value.clone(),
        })
    }

    fn count(&mut self, raw: Option<&Spanned<i64>>, default: u32, key: &str) -> u32 {
        let Some(raw) = raw else { return default };
        match u32::try_from(raw.value) {
            Ok(n) if (1..=64).contains(&n) => n,
            _ => {
                self.problem(
                    &raw.referenced,
                    "minio.count",
                    format!("{key} must be between 1 and 64, got {}", raw.value),
                );
                default
            }
        }
    }
}
