//! The JSON API of Cloud Storage (and of its emulators, at `endpoint:`),
//! the only code that talks to it: buckets, listing by pages, uploads,
//! reads and deletes of objects, deletes in batches of the JSON batch
//! endpoint (at most `BATCH_MAX` calls a batch, each part's status read as
//! that object's result). Every call goes through `transport::rest` (the
//! run's time limits and retries) with an access token from `auth`.

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde::Deserialize;
use tokio::sync::Mutex;

use super::auth::{Credentials, Token};
use crate::error::{ApiCause, ApiFailure, Error, Result};
use crate::transport::rest::{Request, Response, RestClient};

/// Google's own endpoint.
pub(crate) const GOOGLE_ENDPOINT: &str = "https://storage.googleapis.com";
/// Google's Resource Manager, where a project's IAM policy is read.
pub(crate) const RESOURCE_MANAGER: &str = "https://cloudresourcemanager.googleapis.com";
/// The JSON batch endpoint takes at most this many calls a request.
pub(crate) const BATCH_MAX: usize = 100;
/// What a listing page asks for: only what the scan reads.
const LIST_FIELDS: &str =
    "items(name,size,timeCreated,storageClass,generation,metadata),prefixes,nextPageToken";
/// The custom metadata field a trace written by `migrate` carries: when
/// the trace was stored (RFC 3339), which a copy's `timeCreated` is not.
pub(crate) const CREATED_FIELD: &str = "chronotrace-created";

/// Every byte but RFC 3986's unreserved ones is escaped in a path segment.
const SEGMENT: &AsciiSet = &NON_ALPHANUMERIC
    .remove(b'-')
    .remove(b'.')
    .remove(b'_')
    .remove(b'~');

fn escape(text: &str) -> String {
    utf8_percent_encode(text, SEGMENT).to_string()
}

/// A connection to Cloud Storage as one service account.
#[derive(Debug)]
pub(crate) struct Gcs {
    rest: RestClient,
    account: Credentials,
    /// `endpoint:` without a trailing `/`, else Google's.
    pub(crate) endpoint: String,
    /// Where the project's IAM policy is read: Google's Resource Manager,
    /// or `endpoint:` when one is set (nothing is sent to Google then).
    resource_manager: String,
    token: Mutex<Option<Token>>,
}

/// What reading the project's IAM policy came to.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum ProjectPolicy {
    /// The policy.
    Read(serde_json::Value),
    /// 403: the caller may not read it (the server's message).
    Denied(String),
    /// The server does not serve project IAM (an emulator): its status.
    NotServed(u16),
}

/// One listed object (or one generation, when versions are listed).
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Object {
    pub(crate) name: String,
    /// A decimal string in the JSON API.
    #[serde(default)]
    pub(crate) size: Option<String>,
    #[serde(default)]
    pub(crate) time_created: Option<String>,
    #[serde(default)]
    pub(crate) storage_class: Option<String>,
    #[serde(default)]
    pub(crate) generation: Option<String>,
    /// Base64 of the content's MD5 (absent on a composite object).
    #[serde(default)]
    pub(crate) md5_hash: Option<String>,
    /// Base64 of the content's CRC32C, big-endian.
    #[serde(default)]
    pub(crate) crc32c: Option<String>,
    /// Custom metadata (`CREATED_FIELD`).
    #[serde(default)]
    pub(crate) metadata: Option<std::collections::HashMap<String, String>>,
}

impl Object {
    pub(crate) fn bytes(&self) -> u64 {
        self.size
            .as_deref()
            .and_then(|s| s.parse().ok())
            .unwrap_or(0)
    }

    /// When the trace was stored: the `CREATED_FIELD` a copy carries,
    /// else the object's `timeCreated`.
    pub(crate) fn created(&self) -> Option<chrono::DateTime<chrono::Utc>> {
        let kept = self
            .metadata
            .as_ref()
            .and_then(|m| m.get(CREATED_FIELD))
            .map(String::as_str);
        kept.into_iter()
            .chain(self.time_created.as_deref())
            .find_map(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
            .map(|t| t.with_timezone(&chrono::Utc))
    }
}

/// One page of a listing.
#[derive(Debug, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct Page {
    #[serde(default)]
    pub(crate) items: Vec<Object>,
    #[serde(default)]
    pub(crate) next_page_token: Option<String>,
    /// The folders under the prefix, when listed with a delimiter.
    #[serde(default)]
    pub(crate) prefixes: Vec<String>,
}

/// Which part of a bucket one listing reads.
#[derive(Debug, Clone, Default)]
pub(crate) struct ListQuery {
    pub(crate) prefix: String,
    /// Every generation, not only the live ones.
    pub(crate) versions: bool,
    /// Only names at or after this one (`startOffset`).
    pub(crate) start: Option<String>,
    /// Only names before this one (`endOffset`).
    pub(crate) end: Option<String>,
    /// Folders under the prefix as `prefixes`, not their objects
    /// (`delimiter=/`).
    pub(crate) folders: bool,
}

/// What an upload that must not replace anything came to.
#[derive(Debug, Clone)]
pub(crate) enum Upload {
    /// Written: the object as the server answered it (its hashes).
    Created(Box<Object>),
    /// An object of that name was there already (412): nothing written.
    Exists,
}

/// What a delete on the condition of a generation came to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Conditional {
    /// That generation was live and is deleted.
    Deleted,
    /// Another generation is live (412), or none is (404): left alone.
    Changed,
}

/// What one part of a batch delete came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum PartStatus {
    /// Deleted by this call.
    Deleted,
    /// Already gone (another purge took it): done, not an error.
    Gone,
    /// Refused: the status and the server's message.
    Failed(u16, String),
}

impl Gcs {
    pub(crate) fn new(rest: RestClient, account: Credentials, endpoint: Option<&str>) -> Gcs {
        let resource_manager = endpoint.unwrap_or(RESOURCE_MANAGER);
        Gcs {
            rest,
            account,
            endpoint: endpoint
                .unwrap_or(GOOGLE_ENDPOINT)
                .trim_end_matches('/')
                .to_string(),
            resource_manager: resource_manager.trim_end_matches('/').to_string(),
            token: Mutex::new(None),
        }
    }

    /// Who the calls run as: the service account's e-mail, or the gcloud
    /// user's credentials file.
    pub(crate) fn client_email(&self) -> String {
        self.account.who()
    }

    /// A good access token: the one held, or a fresh exchange.
    pub(crate) async fn token(&self) -> Result<crate::secret::Secret> {
        let mut held = self.token.lock().await;
        if let Some(token) = held.as_ref().filter(|t| t.fresh()) {
            return Ok(token.value.clone());
        }
        let token = self.account.exchange(&self.rest).await?;
        let value = token.value.clone();
        *held = Some(token);
        Ok(value)
    }

    /// Sends `request` with the token; the answer whatever its status.
    async fn call(&self, operation: &str, resource: &str, request: Request) -> Result<Response> {
        let token = self.token().await?;
        let request = request.header("authorization", format!("Bearer {}", token.expose()));
        self.rest.send(&request).await.map_err(|failure| {
            let cause = failure.cause();
            self.failure(operation, resource, None, cause, None)
        })
    }

    /// Sends `method` to `url`, a call on the object `bucket/name` (which
    /// messages name): the answer, and that name.
    async fn on_object(
        &self,
        operation: &str,
        method: hyper::Method,
        url: String,
        bucket: &str,
        name: &str,
    ) -> Result<(Response, String)> {
        let resource = format!("{bucket}/{name}");
        let answer = self
            .call(operation, &resource, Request::new(method, url))
            .await?;
        Ok((answer, resource))
    }

    /// A failed call as the tool reports it.
    fn failure(
        &self,
        operation: &str,
        resource: &str,
        answer: Option<&Response>,
        cause: ApiCause,
        hint: Option<String>,
    ) -> Error {
        let (code, message) = answer.map(said).unwrap_or_default();
        Error::Api(Box::new(ApiFailure {
            operation: operation.into(),
            resource: resource.into(),
            endpoint: self.endpoint.clone(),
            status: answer.map(|a| a.status),
            code,
            message,
            cause,
            hint,
        }))
    }

    /// An answer that is not a success, as an error.
    fn refused(&self, operation: &str, resource: &str, answer: &Response) -> Error {
        let (cause, hint) = match answer.status {
            401 => (
                ApiCause::ExpiredCredentials,
                Some("the access token was refused: check the key file".to_string()),
            ),
            403 => (
                ApiCause::AccessDenied,
                Some(format!(
                    "grant {} a role on the bucket that allows {operation}",
                    self.account.who()
                )),
            ),
            _ => (ApiCause::Refused, None),
        };
        self.failure(operation, resource, Some(answer), cause, hint)
    }

    fn bucket_url(&self, bucket: &str) -> String {
        format!("{}/storage/v1/b/{}", self.endpoint, escape(bucket))
    }

    /// The bucket's metadata, `None` when there is no such bucket.
    pub(crate) async fn bucket(&self, bucket: &str) -> Result<Option<serde_json::Value>> {
        let url = self.bucket_url(bucket);
        let answer = self
            .call("buckets.get", bucket, Request::new(hyper::Method::GET, url))
            .await?;
        match answer.status {
            200 => json(&answer).map(Some).map_err(|why| {
                self.failure(
                    "buckets.get",
                    bucket,
                    None,
                    ApiCause::Unexplained(why),
                    None,
                )
            }),
            404 => Ok(None),
            _ => Err(self.refused("buckets.get", bucket, &answer)),
        }
    }

    /// Makes the bucket `body` describes (its name, location, settings).
    pub(crate) async fn create_bucket(
        &self,
        project: &str,
        body: &serde_json::Value,
    ) -> Result<()> {
        let bucket = body["name"].as_str().unwrap_or("");
        let url = format!("{}/storage/v1/b?project={}", self.endpoint, escape(project));
        let request =
            Request::new(hyper::Method::POST, url).body("application/json", body.to_string());
        let answer = self.call("buckets.insert", bucket, request).await?;
        match answer.status {
            200 => Ok(()),
            _ => Err(self.refused("buckets.insert", bucket, &answer)),
        }
    }

    /// PATCHes the bucket's metadata with `body`, only while its
    /// metageneration is `metageneration` (a concurrent change fails with
    /// 412 rather than being overwritten); the bucket as answered.
    pub(crate) async fn patch_bucket(
        &self,
        bucket: &str,
        body: &serde_json::Value,
        metageneration: Option<&str>,
    ) -> Result<serde_json::Value> {
        let mut url = self.bucket_url(bucket);
        if let Some(generation) = metageneration {
            url.push_str("?ifMetagenerationMatch=");
            url.push_str(&escape(generation));
        }
        let request =
            Request::new(hyper::Method::PATCH, url).body("application/json", body.to_string());
        let answer = self.call("buckets.patch", bucket, request).await?;
        match answer.status {
            200 => json(&answer).map_err(|why| {
                self.failure(
                    "buckets.patch",
                    bucket,
                    None,
                    ApiCause::Unexplained(why),
                    None,
                )
            }),
            412 => Err(self.failure(
                "buckets.patch",
                bucket,
                Some(&answer),
                ApiCause::Refused,
                Some("another client changed the bucket meanwhile: run the command again".into()),
            )),
            _ => Err(self.refused("buckets.patch", bucket, &answer)),
        }
    }

    /// Deletes the (empty) bucket.
    pub(crate) async fn delete_bucket(&self, bucket: &str) -> Result<()> {
        let url = self.bucket_url(bucket);
        let answer = self
            .call(
                "buckets.delete",
                bucket,
                Request::new(hyper::Method::DELETE, url),
            )
            .await?;
        match answer.status {
            200 | 204 | 404 => Ok(()),
            _ => Err(self.refused("buckets.delete", bucket, &answer)),
        }
    }

    /// The bucket's IAM policy, `None` when there is no such bucket.
    pub(crate) async fn iam_policy(&self, bucket: &str) -> Result<Option<serde_json::Value>> {
        let url = format!(
            "{}/iam?optionsRequestedPolicyVersion=3",
            self.bucket_url(bucket)
        );
        let answer = self
            .call(
                "buckets.getIamPolicy",
                bucket,
                Request::new(hyper::Method::GET, url),
            )
            .await?;
        match answer.status {
            200 => json(&answer).map(Some).map_err(|why| {
                self.failure(
                    "buckets.getIamPolicy",
                    bucket,
                    None,
                    ApiCause::Unexplained(why),
                    None,
                )
            }),
            404 => Ok(None),
            _ => Err(self.refused("buckets.getIamPolicy", bucket, &answer)),
        }
    }

    /// Replaces the bucket's IAM policy with `policy`, which carries the
    /// etag it was read with: a concurrent change answers 412 (`Ok(false)`:
    /// read again and redo), never overwritten.
    pub(crate) async fn set_iam_policy(
        &self,
        bucket: &str,
        policy: &serde_json::Value,
    ) -> Result<bool> {
        let url = format!("{}/iam", self.bucket_url(bucket));
        let request =
            Request::new(hyper::Method::PUT, url).body("application/json", policy.to_string());
        let answer = self.call("buckets.setIamPolicy", bucket, request).await?;
        match answer.status {
            200 => Ok(true),
            412 | 409 => Ok(false),
            _ => Err(self.refused("buckets.setIamPolicy", bucket, &answer)),
        }
    }

    /// The project's IAM policy (`projects.getIamPolicy`, version 3), or
    /// why it could not be read.
    pub(crate) async fn project_iam_policy(&self, project: &str) -> Result<ProjectPolicy> {
        let url = format!(
            "{}/v1/projects/{}:getIamPolicy",
            self.resource_manager,
            escape(project)
        );
        let body = serde_json::json!({"options": {"requestedPolicyVersion": 3}});
        let request =
            Request::new(hyper::Method::POST, url).body("application/json", body.to_string());
        let resource = format!("projects/{project}");
        let answer = self
            .call("projects.getIamPolicy", &resource, request)
            .await?;
        match answer.status {
            200 => json(&answer).map(ProjectPolicy::Read).map_err(|why| {
                self.failure(
                    "projects.getIamPolicy",
                    &resource,
                    None,
                    ApiCause::Unexplained(why),
                    None,
                )
            }),
            403 => Ok(ProjectPolicy::Denied(
                said(&answer)
                    .1
                    .unwrap_or_else(|| "permission denied".to_string()),
            )),
            404 | 405 | 501 => Ok(ProjectPolicy::NotServed(answer.status)),
            _ => Err(self.refused("projects.getIamPolicy", &resource, &answer)),
        }
    }

    /// Which of `permissions` the caller holds on the object `name`
    /// (`objects.testIamPermissions`), or on the whole bucket when `name`
    /// is `None` (`buckets.testIamPermissions`: what a binding conditioned
    /// on a prefix does not grant); `None` when the server does not answer
    /// the call (an emulator: 404 or 501; a missing object on Google).
    pub(crate) async fn held_permissions(
        &self,
        bucket: &str,
        name: Option<&str>,
        permissions: &[&str],
    ) -> Result<Option<Vec<String>>> {
        let mut url = match name {
            Some(name) => format!(
                "{}/o/{}/iam/testPermissions?",
                self.bucket_url(bucket),
                escape(name)
            ),
            None => format!("{}/iam/testPermissions?", self.bucket_url(bucket)),
        };
        let query: Vec<String> = permissions
            .iter()
            .map(|p| format!("permissions={}", escape(p)))
            .collect();
        url.push_str(&query.join("&"));
        let resource = format!("{bucket}/{}", name.unwrap_or(""));
        let answer = self
            .call(
                "objects.testIamPermissions",
                &resource,
                Request::new(hyper::Method::GET, url),
            )
            .await?;
        #[derive(Deserialize)]
        struct Held {
            #[serde(default)]
            permissions: Vec<String>,
        }
        match answer.status {
            200 => serde_json::from_slice::<Held>(&answer.body)
                .map(|held| Some(held.permissions))
                .map_err(|e| {
                    self.failure(
                        "objects.testIamPermissions",
                        &resource,
                        None,
                        ApiCause::Unexplained(format!("not a permissions answer: {e}")),
                        None,
                    )
                }),
            404 | 405 | 501 => Ok(None),
            _ => Err(self.refused("objects.testIamPermissions", &resource, &answer)),
        }
    }

    /// One page of the objects under `prefix` (every generation when
    /// `versions`), after `page_token`.
    pub(crate) async fn list(
        &self,
        bucket: &str,
        prefix: &str,
        versions: bool,
        page_token: Option<&str>,
    ) -> Result<Page> {
        let query = ListQuery {
            prefix: prefix.to_string(),
            versions,
            ..ListQuery::default()
        };
        self.list_page(bucket, &query, page_token).await
    }

    /// One page of what `query` selects, after `page_token`.
    pub(crate) async fn list_page(
        &self,
        bucket: &str,
        query: &ListQuery,
        page_token: Option<&str>,
    ) -> Result<Page> {
        let mut url = format!(
            "{}/o?prefix={}&fields={}&maxResults=1000",
            self.bucket_url(bucket),
            escape(&query.prefix),
            escape(LIST_FIELDS)
        );
        if query.versions {
            url.push_str("&versions=true");
        }
        for (name, offset) in [("startOffset", &query.start), ("endOffset", &query.end)] {
            if let Some(offset) = offset {
                url.push_str(&format!("&{name}={}", escape(offset)));
            }
        }
        if query.folders {
            url.push_str("&delimiter=%2F");
        }
        if let Some(token) = page_token {
            url.push_str("&pageToken=");
            url.push_str(&escape(token));
        }
        let resource = format!("{bucket}/{}", query.prefix);
        let answer = self
            .call(
                "objects.list",
                &resource,
                Request::new(hyper::Method::GET, url),
            )
            .await?;
        if answer.status != 200 {
            return Err(self.refused("objects.list", &resource, &answer));
        }
        serde_json::from_slice(&answer.body).map_err(|e| {
            self.failure(
                "objects.list",
                &resource,
                None,
                ApiCause::Unexplained(format!("not a listing page: {e}")),
                None,
            )
        })
    }

    /// Writes `body` as the object `name`.
    pub(crate) async fn upload(&self, bucket: &str, name: &str, body: Vec<u8>) -> Result<()> {
        let url = format!(
            "{}/upload/storage/v1/b/{}/o?uploadType=media&name={}",
            self.endpoint,
            escape(bucket),
            escape(name)
        );
        let resource = format!("{bucket}/{name}");
        // Bytes as they are: gcp-storage-emulator parses a media upload
        // typed application/json and fails on it.
        let request = Request::new(hyper::Method::POST, url).body("application/octet-stream", body);
        let answer = self.call("objects.insert", &resource, request).await?;
        match answer.status {
            200 => Ok(()),
            _ => Err(self.refused("objects.insert", &resource, &answer)),
        }
    }

    /// The content of the object `name`, `None` when there is none.
    pub(crate) async fn download(&self, bucket: &str, name: &str) -> Result<Option<Vec<u8>>> {
        self.download_generation(bucket, name, None).await
    }

    /// The content of generation `generation` of the object `name` (the
    /// live one when `None`), `None` when there is no such generation.
    pub(crate) async fn download_generation(
        &self,
        bucket: &str,
        name: &str,
        generation: Option<&str>,
    ) -> Result<Option<Vec<u8>>> {
        let mut url = format!("{}/o/{}?alt=media", self.bucket_url(bucket), escape(name));
        if let Some(generation) = generation {
            url.push_str("&generation=");
            url.push_str(&escape(generation));
        }
        let (answer, resource) = self
            .on_object("objects.get", hyper::Method::GET, url, bucket, name)
            .await?;
        match answer.status {
            200 => Ok(Some(answer.body.to_vec())),
            404 => Ok(None),
            _ => Err(self.refused("objects.get", &resource, &answer)),
        }
    }

    /// The object `name`'s resource (size, hashes, generation, custom
    /// metadata), `None` when there is none.
    pub(crate) async fn object(&self, bucket: &str, name: &str) -> Result<Option<Object>> {
        let url = format!("{}/o/{}", self.bucket_url(bucket), escape(name));
        let (answer, resource) = self
            .on_object("objects.get", hyper::Method::GET, url, bucket, name)
            .await?;
        match answer.status {
            200 => self.object_of("objects.get", &resource, &answer).map(Some),
            404 => Ok(None),
            _ => Err(self.refused("objects.get", &resource, &answer)),
        }
    }

    fn object_of(&self, operation: &str, resource: &str, answer: &Response) -> Result<Object> {
        serde_json::from_slice(&answer.body).map_err(|e| {
            self.failure(
                operation,
                resource,
                None,
                ApiCause::Unexplained(format!("not an object resource: {e}")),
                None,
            )
        })
    }

    /// Writes `body` as the object `name`, typed `content_type`, with the
    /// custom `metadata`, only if no object of that name exists
    /// (`ifGenerationMatch=0`): a multipart upload (the resource, then the
    /// bytes). The answer's object carries the hashes the server computed.
    pub(crate) async fn upload_new(
        &self,
        bucket: &str,
        name: &str,
        content_type: &str,
        metadata: &[(&str, String)],
        body: &[u8],
    ) -> Result<Upload> {
        let url = format!(
            "{}/upload/storage/v1/b/{}/o?uploadType=multipart&ifGenerationMatch=0",
            self.endpoint,
            escape(bucket)
        );
        let fields: serde_json::Map<String, serde_json::Value> = metadata
            .iter()
            .map(|(k, v)| ((*k).to_string(), v.clone().into()))
            .collect();
        let resource_json = serde_json::json!({
            "name": name,
            "contentType": content_type,
            "metadata": fields,
        });
        let boundary = multipart_boundary(body);
        let mut multipart = format!(
            "--{boundary}\r\nContent-Type: application/json; charset=UTF-8\r\n\r\n{resource_json}\r\n--{boundary}\r\nContent-Type: {content_type}\r\n\r\n"
        )
        .into_bytes();
        multipart.extend_from_slice(body);
        multipart.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let resource = format!("{bucket}/{name}");
        let request = Request::new(hyper::Method::POST, url).body(
            &format!("multipart/related; boundary={boundary}"),
            multipart,
        );
        let answer = self.call("objects.insert", &resource, request).await?;
        match answer.status {
            200 => self
                .object_of("objects.insert", &resource, &answer)
                .map(|object| Upload::Created(Box::new(object))),
            412 => Ok(Upload::Exists),
            _ => Err(self.refused("objects.insert", &resource, &answer)),
        }
    }

    /// Deletes generation `generation` of the object `name` for good
    /// (`generation`: on a versioned bucket it does not linger as a
    /// noncurrent version), only while it is the live one
    /// (`ifGenerationMatch`).
    pub(crate) async fn delete_if_generation(
        &self,
        bucket: &str,
        name: &str,
        generation: &str,
    ) -> Result<Conditional> {
        let url = format!(
            "{}/o/{}?generation={generation}&ifGenerationMatch={generation}",
            self.bucket_url(bucket),
            escape(name),
            generation = escape(generation)
        );
        let (answer, resource) = self
            .on_object("objects.delete", hyper::Method::DELETE, url, bucket, name)
            .await?;
        match answer.status {
            200 | 204 => Ok(Conditional::Deleted),
            // Gone after an attempt whose answer was lost: that attempt's
            // own delete (see `ours_if_retried`).
            404 if answer.after_lost_answer => Ok(Conditional::Deleted),
            404 | 412 => Ok(Conditional::Changed),
            _ => Err(self.refused("objects.delete", &resource, &answer)),
        }
    }

    /// Deletes one object (one generation of it, when given).
    pub(crate) async fn delete(
        &self,
        bucket: &str,
        name: &str,
        generation: Option<&str>,
    ) -> Result<PartStatus> {
        let mut url = format!("{}/o/{}", self.bucket_url(bucket), escape(name));
        if let Some(generation) = generation {
            url.push_str("?generation=");
            url.push_str(&escape(generation));
        }
        let (answer, _) = self
            .on_object("objects.delete", hyper::Method::DELETE, url, bucket, name)
            .await?;
        let status = part_status(answer.status, &answer.body);
        Ok(ours_if_retried(status, answer.after_lost_answer))
    }

    /// Deletes `objects` (name, generation) in one batch request: one
    /// status per object, in order. A batch that fails as a whole is an
    /// error (nothing is known of its parts).
    pub(crate) async fn delete_batch(
        &self,
        bucket: &str,
        objects: &[(&str, Option<&str>)],
    ) -> Result<Vec<PartStatus>> {
        let boundary = "chronotrace-ops-batch";
        let mut body = String::new();
        for (i, (name, generation)) in objects.iter().enumerate() {
            let mut path = format!("/storage/v1/b/{}/o/{}", escape(bucket), escape(name));
            if let Some(generation) = generation {
                path.push_str("?generation=");
                path.push_str(&escape(generation));
            }
            body.push_str(&format!(
                "--{boundary}\r\nContent-Type: application/http\r\nContent-ID: <{}>\r\n\r\nDELETE {path} HTTP/1.1\r\n\r\n\r\n",
                i + 1
            ));
        }
        body.push_str(&format!("--{boundary}--\r\n"));
        let url = format!("{}/batch/storage/v1", self.endpoint);
        let request = Request::new(hyper::Method::POST, url)
            .body(&format!("multipart/mixed; boundary={boundary}"), body);
        let resource = format!("{bucket} ({} objects)", objects.len());
        let answer = self.call("batch delete", &resource, request).await?;
        if answer.status != 200 {
            return Err(self.refused("batch delete", &resource, &answer));
        }
        let statuses = parse_batch(&answer, objects.len()).map_err(|why| {
            self.failure(
                "batch delete",
                &resource,
                None,
                ApiCause::Unexplained(why),
                None,
            )
        })?;
        Ok(statuses
            .into_iter()
            .map(|status| ours_if_retried(status, answer.after_lost_answer))
            .collect())
    }
}

/// A multipart boundary that `body` does not contain.
fn multipart_boundary(body: &[u8]) -> String {
    let mut boundary = String::from("chronotrace-ops-part");
    while body
        .windows(boundary.len())
        .any(|w| w == boundary.as_bytes())
    {
        boundary.push('x');
    }
    boundary
}

/// A delete's status, knowing whether an earlier attempt of the same call
/// went out and its answer was lost. That attempt was most likely carried
/// out (the server took the objects, the answer timed out on the way
/// back), so "not found" now is this run's own delete: counted as deleted
/// rather than as taken by someone else. (Measured: a batch answered after
/// the attempt limit, then retried, found its 100 objects gone and the
/// purge counted 100 short; see docs/gcs.md.) Another purge that took the
/// same objects in that window would count them too.
fn ours_if_retried(status: PartStatus, after_lost_answer: bool) -> PartStatus {
    match status {
        PartStatus::Gone if after_lost_answer => PartStatus::Deleted,
        other => other,
    }
}

/// A delete's status as a per-object result.
fn part_status(status: u16, body: &[u8]) -> PartStatus {
    match status {
        200 | 204 => PartStatus::Deleted,
        404 => PartStatus::Gone,
        _ => {
            let answer = Response {
                status,
                content_type: None,
                body: body.to_vec().into(),
                after_lost_answer: false,
            };
            let (code, message) = said(&answer);
            let text = match (code, message) {
                (_, Some(m)) => m,
                (Some(c), None) => c,
                (None, None) => format!("HTTP {status}"),
            };
            PartStatus::Failed(status, text)
        }
    }
}

/// The statuses of a batch answer's parts, by their `Content-ID`
/// (`<response-N>` answers the call `<N>`), in the calls' order.
fn parse_batch(answer: &Response, count: usize) -> std::result::Result<Vec<PartStatus>, String> {
    let content_type = answer.content_type.as_deref().unwrap_or("");
    let boundary = content_type
        .split(';')
        .find_map(|p| p.trim().strip_prefix("boundary="))
        .map(|b| b.trim_matches('"'))
        .ok_or_else(|| format!("a batch answer without a boundary ({content_type})"))?;
    let text = String::from_utf8_lossy(&answer.body);
    let mut statuses: Vec<Option<PartStatus>> = vec![None; count];
    let parts: Vec<&str> = text
        .split(&format!("--{boundary}"))
        .filter(|p| p.contains("HTTP/1.1 "))
        .collect();
    // Without a Content-ID on any part (gcp-storage-emulator), the parts
    // answer the calls in order.
    let by_position = parts
        .iter()
        .all(|p| header_value(p, "content-id").is_none());
    for (position, part) in parts.into_iter().enumerate() {
        let index = if by_position {
            Some(position + 1)
        } else {
            header_value(part, "content-id").and_then(|id| {
                id.trim_matches(|c| c == '<' || c == '>')
                    .rsplit('-')
                    .next()
                    .and_then(|n| n.parse::<usize>().ok())
            })
        };
        let Some(index) = index.filter(|n| (1..=count).contains(n)) else {
            continue;
        };
        let Some(status_at) = part.find("HTTP/1.1 ") else {
            continue;
        };
        let status = part[status_at + 9..]
            .get(..3)
            .and_then(|s| s.parse::<u16>().ok())
            .ok_or_else(|| format!("part {index}: no status line"))?;
        let body = part[status_at..]
            .split_once("\r\n\r\n")
            .map_or("", |(_, b)| b.trim());
        statuses[index - 1] = Some(part_status(status, body.as_bytes()));
    }
    statuses
        .into_iter()
        .enumerate()
        .map(|(i, s)| s.ok_or_else(|| format!("no answer for part {}", i + 1)))
        .collect()
}

/// A header's value in a multipart part's headers (case-insensitive).
fn header_value<'a>(part: &'a str, name: &str) -> Option<&'a str> {
    // The part's own headers: after the boundary line's end, up to the
    // blank line before the answer it wraps.
    part.lines()
        .skip_while(|l| l.trim().is_empty())
        .take_while(|l| !l.trim().is_empty())
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.trim().eq_ignore_ascii_case(name))
        .map(|(_, v)| v.trim())
}

/// The error's reason and message from a JSON API error answer.
fn said(answer: &Response) -> (Option<String>, Option<String>) {
    let value: serde_json::Value = serde_json::from_slice(&answer.body).unwrap_or_default();
    let error = &value["error"];
    let code = error["errors"][0]["reason"]
        .as_str()
        .or_else(|| error["status"].as_str())
        .map(str::to_string);
    let message = error["message"].as_str().map(str::to_string);
    (code, message)
}

fn json(answer: &Response) -> std::result::Result<serde_json::Value, String> {
    serde_json::from_slice(&answer.body).map_err(|e| format!("not JSON: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_batch_answer_gives_each_part_its_status_by_content_id() {
        let body = "--b1\r\nContent-Type: application/http\r\nContent-ID: <response-2>\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Type: application/json\r\n\r\n{\"error\":{\"code\":404,\"message\":\"No such object\"}}\r\n--b1\r\nContent-Type: application/http\r\nContent-ID: <response-1>\r\n\r\nHTTP/1.1 204 No Content\r\n\r\n\r\n--b1\r\nContent-ID: <response-3>\r\n\r\nHTTP/1.1 403 Forbidden\r\n\r\n{\"error\":{\"code\":403,\"message\":\"denied here\",\"errors\":[{\"reason\":\"forbidden\"}]}}\r\n--b1--\r\n";
        let answer = Response {
            status: 200,
            content_type: Some("multipart/mixed; boundary=b1".into()),
            body: body.as_bytes().to_vec().into(),
            after_lost_answer: false,
        };
        assert_eq!(
            parse_batch(&answer, 3),
            Ok(vec![
                PartStatus::Deleted,
                PartStatus::Gone,
                PartStatus::Failed(403, "denied here".into())
            ])
        );
        assert!(
            parse_batch(&answer, 4).is_err(),
            "a missing part is an error"
        );
    }

    #[test]
    fn a_copy_is_dated_by_the_date_it_carries_not_by_its_upload() {
        let listed: Object = serde_json::from_value(serde_json::json!({
            "name": "traces/a.json",
            "timeCreated": "2026-12-08T01:00:00Z",
            "metadata": {CREATED_FIELD: "2026-11-01T10:00:00+00:00"},
        }))
        .expect("an object");
        let at = listed.created().map(|t| t.to_rfc3339());
        assert_eq!(at.as_deref(), Some("2026-11-01T10:00:00+00:00"));
        let mut plain = listed.clone();
        plain.metadata = None;
        let at = plain.created().map(|t| t.to_rfc3339());
        assert_eq!(at.as_deref(), Some("2026-12-08T01:00:00+00:00"));
    }

    #[test]
    fn object_names_are_escaped_as_one_path_segment() {
        assert_eq!(
            escape("traces/2026-12-01/a b.json"),
            "traces%2F2026-12-01%2Fa%20b.json"
        );
    }
}
