//! Rendering artifacts from Tera templates. Pure: spec in, file contents out;
//! `files` writes or compares them. What each environment's store renders
//! (its `.env` lines, its own files, what enforces its retention) the store
//! states (`store::StoreFiles`, which the caller passes in): nothing here
//! tells the kinds of store apart.
//!
//! The templates in the top-level `templates/` directory are embedded in the
//! binary; `--templates DIR` overrides any of them by file name.

#![warn(unreachable_pub)]

pub(crate) mod context;
pub(crate) mod files;
pub(crate) mod schedule;
pub(crate) mod selfhosted;
pub(crate) mod store;

use std::path::Path;

use serde::Serialize;
use tera::Tera;

use crate::error::{Error, Result};
use crate::spec::{Environment, Provider, Spec};
use context::{DevCompose, DotEnv, MinioApp, MinioEnvExample, Nginx, ProductionCompose};
use store::StoreFiles;

/// What each environment's store renders (`stores::files`).
pub(crate) type StoreFilesOf<'a> = &'a dyn Fn(&Environment) -> Result<StoreFiles>;

/// Template file name and embedded text, for every template.
pub(crate) const TEMPLATES: [(&str, &str); 20] = [
    (
        "docker-compose.yml.tera",
        include_str!("../../templates/docker-compose.yml.tera"),
    ),
    (
        "docker-compose.production.yml.tera",
        include_str!("../../templates/docker-compose.production.yml.tera"),
    ),
    (
        "nginx.conf.tera",
        include_str!("../../templates/nginx.conf.tera"),
    ),
    (
        "lifecycle-policy.json.tera",
        include_str!("../../templates/lifecycle-policy.json.tera"),
    ),
    (
        "iam-policy.json.tera",
        include_str!("../../templates/iam-policy.json.tera"),
    ),
    (
        "trust-policy.json.tera",
        include_str!("../../templates/trust-policy.json.tera"),
    ),
    ("env.tera", include_str!("../../templates/env.tera")),
    (
        "minio.env.example.tera",
        include_str!("../../templates/minio.env.example.tera"),
    ),
    // The daily purge of an environment with `schedule:`.
    (
        "purge.service.tera",
        include_str!("../../templates/purge.service.tera"),
    ),
    (
        "purge.timer.tera",
        include_str!("../../templates/purge.timer.tera"),
    ),
    (
        "purge.cron.tera",
        include_str!("../../templates/purge.cron.tera"),
    ),
    // The maintained self-hosted servers (`selfhosted`).
    (
        "garage/docker-compose.yml.tera",
        include_str!("../../templates/garage/docker-compose.yml.tera"),
    ),
    (
        "garage/docker-compose.production.yml.tera",
        include_str!("../../templates/garage/docker-compose.production.yml.tera"),
    ),
    (
        "garage/garage.toml.tera",
        include_str!("../../templates/garage/garage.toml.tera"),
    ),
    (
        "seaweedfs/docker-compose.yml.tera",
        include_str!("../../templates/seaweedfs/docker-compose.yml.tera"),
    ),
    (
        "seaweedfs/docker-compose.production.yml.tera",
        include_str!("../../templates/seaweedfs/docker-compose.production.yml.tera"),
    ),
    (
        "mount/share.mount.tera",
        include_str!("../../templates/mount/share.mount.tera"),
    ),
    (
        "mount/fstab.tera",
        include_str!("../../templates/mount/fstab.tera"),
    ),
    (
        "mount/requires-mount.conf.tera",
        include_str!("../../templates/mount/requires-mount.conf.tera"),
    ),
    (
        "seaweedfs/s3.example.json.tera",
        include_str!("../../templates/seaweedfs/s3.example.json.tera"),
    ),
];

/// One rendered file, relative to the output directory.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Artifact {
    pub(crate) path: String,
    pub(crate) contents: String,
    /// Could hold secrets once a person edits it: created 0600, never
    /// overwritten without `--force`.
    pub(crate) sensitive: bool,
}

/// The template engine, loaded with the embedded templates and any overrides.
pub(crate) struct Renderer {
    tera: Tera,
}

impl Renderer {
    /// The embedded templates, overridden by files of the same name in `dir`.
    pub(crate) fn new(overrides: Option<&Path>) -> Result<Renderer> {
        let mut sources: Vec<(String, String)> = TEMPLATES
            .iter()
            .map(|(name, text)| (name.to_string(), text.to_string()))
            .collect();
        if let Some(dir) = overrides {
            if !dir.is_dir() {
                return Err(Error::usage(format!(
                    "--templates {}: not a directory",
                    dir.display()
                )));
            }
            for (name, text) in &mut sources {
                let path = dir.join(&*name);
                if path.is_file() {
                    *text = std::fs::read_to_string(&path).map_err(|e| Error::io(&path, e))?;
                }
            }
        }
        let mut tera = Tera::default();
        // Nothing here is HTML: escaping would corrupt JSON, YAML and nginx files.
        tera.autoescape_on(vec![]);
        tera.add_raw_templates(sources)
            .map_err(|e| template_error("templates", &e))?;
        Ok(Renderer { tera })
    }

    /// Every artifact of the spec; per-environment files only for `only_env`
    /// when given. `stores` says what each environment's store renders.
    pub(crate) fn render_spec(
        &self,
        spec: &Spec,
        only_env: Option<&str>,
        stores: StoreFilesOf<'_>,
    ) -> Result<Vec<Artifact>> {
        let envs = spec
            .environments
            .values()
            .filter(|env| only_env.is_none_or(|name| env.name == name))
            .map(|env| Ok((env, stores(env)?)))
            .collect::<Result<Vec<_>>>()?;
        let mut out = Vec::new();
        let dev = DevCompose::new(&spec.project, spec.minio.as_ref());
        out.push(self.artifact("docker-compose.yml.tera", "docker-compose.yml", &dev, false)?);
        if let Some(minio) = &spec.minio {
            let production = ProductionCompose::new(&spec.project, minio);
            let nginx = Nginx::new(&production);
            out.push(self.artifact(
                "docker-compose.production.yml.tera",
                "docker-compose.production.yml",
                &production,
                false,
            )?);
            out.push(self.artifact("nginx.conf.tera", "nginx.conf", &nginx, false)?);
        }
        let servers: Vec<_> = envs.iter().filter_map(|(_, s)| s.server.as_ref()).collect();
        for server in selfhosted::SelfHosted::from_servers(&spec.project, &servers) {
            for (template, path, sensitive) in server.files() {
                out.push(self.artifact(&template, &path, &server, sensitive)?);
            }
            let nginx = format!("nginx.{}.conf", server.name);
            out.push(self.artifact("nginx.conf.tera", &nginx, &server.nginx(), false)?);
        }
        let mut minio_buckets = Vec::new();
        for (env, store) in &envs {
            let name = &env.name;
            for file in &store.artifacts {
                out.push(self.rendered(file)?);
            }
            if let Some(server) = store
                .server
                .as_ref()
                .filter(|s| s.provider == Provider::Minio)
            {
                minio_buckets.push(MinioApp {
                    env: name.clone(),
                    env_var: name.to_uppercase().replace('-', "_"),
                    bucket: server.bucket.clone(),
                    prefix: server.prefix_dir.clone(),
                });
            }
            let dotenv = DotEnv::new(&spec.project, env, store);
            out.push(self.artifact("env.tera", &format!(".env.{name}"), &dotenv, true)?);
            if let Some(schedule) = &env.schedule {
                let units = schedule::Units::new(&spec.project, env, schedule, store);
                for kind in ["service", "timer", "cron"] {
                    let path = format!("chronotrace-purge-{name}.{kind}");
                    out.push(self.artifact(&format!("purge.{kind}.tera"), &path, &units, false)?);
                }
            }
        }
        if let Some(minio) = &spec.minio {
            let example = MinioEnvExample {
                domain: minio.domain.clone(),
                console_domain: minio.console_domain.clone(),
                buckets: minio_buckets,
            };
            out.push(self.artifact(
                "minio.env.example.tera",
                "minio.env.example",
                &example,
                true,
            )?);
        }
        Ok(out)
    }

    /// One of a store's own files.
    fn rendered(&self, file: &store::Template) -> Result<Artifact> {
        let fail = |e: tera::Error| template_error(file.template, &e);
        let ctx = tera::Context::from_value(file.context.clone()).map_err(fail)?;
        let contents = self.tera.render(file.template, &ctx).map_err(fail)?;
        Ok(Artifact {
            path: file.path.clone(),
            contents,
            sensitive: file.sensitive,
        })
    }

    fn artifact<C: Serialize>(
        &self,
        template: &str,
        path: &str,
        context: &C,
        sensitive: bool,
    ) -> Result<Artifact> {
        let ctx =
            tera::Context::from_serialize(context).map_err(|e| template_error(template, &e))?;
        let contents = self
            .tera
            .render(template, &ctx)
            .map_err(|e| template_error(template, &e))?;
        Ok(Artifact {
            path: path.to_string(),
            contents,
            sensitive,
        })
    }
}

/// Tera nests the useful part of its errors in `source()`: flatten to one line.
pub(crate) fn template_error(name: &str, err: &tera::Error) -> Error {
    let mut message = err.to_string();
    let mut source = std::error::Error::source(err);
    while let Some(cause) = source {
        message.push_str(": ");
        message.push_str(&cause.to_string());
        source = cause.source();
    }
    Error::Template {
        name: name.to_string(),
        message: message.replace('\n', " "),
    }
}
