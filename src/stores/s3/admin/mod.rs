//! The admin planes of the self-hosted S3 servers, beside the S3 API:
//! MinIO's admin API (`minio`: users and policies, its bodies encrypted as
//! madmin does) and health endpoints (`minio_health`). Garage's admin API
//! serves only the app's key (`app_identity::garage`); SeaweedFS's
//! identities go through its IAM API with the run's own clients
//! (`app_identity::seaweed`).

pub mod minio;
pub mod minio_health;
