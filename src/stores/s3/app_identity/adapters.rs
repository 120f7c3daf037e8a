//! Which adapter provisions the app's identity on a self-hosted store:
//! SeaweedFS's IAM API through the run's clients (`stores::s3`), Garage's admin
//! API (`app_identity::garage`), MinIO's admin API (`stores::s3::admin::minio`).

#![warn(unreachable_pub)]

use crate::error::Result;
use crate::spec::{AppIdentity, S3Storage};
use crate::stores::s3::Clients;
use crate::stores::s3::app_identity::AppAdmin;
use crate::stores::s3::app_identity::garage::GarageKeys;
use crate::stores::s3::app_identity::minio::MinioUsers;
use crate::stores::s3::app_identity::seaweed::IamUsers;

/// Garage's admin API port when `admin_endpoint:` is not written.
pub(crate) const GARAGE_ADMIN_PORT: u16 = 3903;

/// The admin of the app's identity of `s3`, when the spec names an app user.
pub(crate) fn admin(
    clients: &Clients,
    s3: &S3Storage,
    env: &str,
) -> Result<Option<Box<dyn AppAdmin>>> {
    if s3.app_user.is_none() {
        return Ok(None);
    }
    Ok(match s3.provider.capabilities().app_identity {
        AppIdentity::IamUser => Some(Box::new(IamUsers {
            clients: clients.clone(),
            env: env.to_string(),
        })),
        AppIdentity::GarageKey => {
            let endpoint = garage_admin_endpoint(s3, clients.target.endpoint.as_deref());
            Some(Box::new(GarageKeys::from_env(
                &endpoint,
                &s3.bucket,
                env,
                &clients.target.timeouts,
            )?))
        }
        AppIdentity::MinioUser => Some(Box::new(MinioUsers::new(clients))),
        AppIdentity::AwsRole | AppIdentity::None => None,
    })
}

/// `admin_endpoint:`, else the S3 endpoint's scheme and host on port 3903.
pub(crate) fn garage_admin_endpoint(s3: &S3Storage, s3_endpoint: Option<&str>) -> String {
    if let Some(admin) = &s3.admin_endpoint {
        return admin.clone();
    }
    let base = s3_endpoint
        .or(s3.endpoint.as_deref())
        .unwrap_or("http://127.0.0.1");
    match url::Url::parse(base) {
        Ok(mut url) => {
            let _ = url.set_port(Some(GARAGE_ADMIN_PORT));
            url.as_str().trim_end_matches('/').to_string()
        }
        Err(_) => format!("http://127.0.0.1:{GARAGE_ADMIN_PORT}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_garage_admin_endpoint_defaults_to_the_s3_host_on_3903() {
        let spec = "project: p\nenvironments:\n  g:\n    storage: s3\n    provider: garage\n    endpoint: http://garage.internal:3900\n    region: garage\n    bucket: b-g\n    iam: {user: app, policy: p}\n";
        let spec = crate::spec::Spec::parse(spec, "t.yaml").expect("spec");
        let crate::spec::Storage::S3(s3) = &spec.environment("g").expect("env").storage else {
            panic!("an s3 env");
        };
        assert_eq!(
            garage_admin_endpoint(s3, None),
            "http://garage.internal:3903"
        );
        let mut written = s3.clone();
        written.admin_endpoint = Some("http://10.0.0.5:4000".into());
        assert_eq!(
            garage_admin_endpoint(&written, None),
            "http://10.0.0.5:4000"
        );
    }
}
