//! Hands listing page bodies (ListObjectsV2, ListObjectVersions) to the
//! streaming parse (`page_xml`)
//! instead of the SDK's deserialiser, keeping the SDK for everything else
//! (endpoint, signing, retries, timeouts, error mapping).
//!
//! How: an interceptor added to one request (`customize().interceptor`)
//! puts `Deserializer` in the request's configuration, in front of the
//! operation's own deserialiser (taken from the SDK's public runtime plugin
//! of the operation, e.g. `ListObjectsV2`). The orchestrator calls it with
//! the whole body read;
//! on a `200` it understands, it parses the page into the request's `Slot`
//! and returns an empty output (which the caller ignores);
//! on anything else (an error status, an error document, a shape the fast
//! path leaves alone, a cut body) it calls the SDK's own deserialiser, so
//! errors and odd pages behave exactly as before.

use std::sync::{Arc, Mutex, OnceLock};

use aws_sdk_s3::operation::list_object_versions::{ListObjectVersions, ListObjectVersionsOutput};
use aws_sdk_s3::operation::list_objects_v2::{ListObjectsV2, ListObjectsV2Output};
use aws_smithy_runtime_api::box_error::BoxError;
use aws_smithy_runtime_api::client::interceptors::Intercept;
use aws_smithy_runtime_api::client::interceptors::context::{
    BeforeSerializationInterceptorContextRef, BeforeTransmitInterceptorContextRef, Output,
    OutputOrError,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpResponse, OrchestratorError};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::client::runtime_plugin::RuntimePlugin;
use aws_smithy_runtime_api::client::ser_de::{DeserializeResponse, SharedResponseDeserializer};
use aws_smithy_types::config_bag::{ConfigBag, FrozenLayer};

use super::page_xml::{self, RawPage};
use crate::stores::s3::complete_xml::ReadWhole;

/// Where the fast path leaves the page of one request (empty when the SDK
/// deserialised it).
#[derive(Debug, Clone, Default)]
pub struct Slot(Arc<Mutex<Option<RawPage>>>);

impl Slot {
    /// The page the fast path parsed, if it did.
    pub fn take(&self) -> Option<RawPage> {
        self.0.lock().ok()?.take()
    }

    fn set(&self, page: Option<RawPage>) {
        if let Ok(mut slot) = self.0.lock() {
            *slot = page;
        }
    }
}

/// The two listings the fast path reads.
#[derive(Debug, Clone, Copy)]
pub enum Listing {
    ObjectsV2,
    Versions,
}

impl Listing {
    /// The SDK's configuration of the operation, holding its deserialiser
    /// (built once; `None` if a future SDK stopped putting one there, and
    /// then every page takes the SDK's path).
    fn sdk(self) -> Option<FrozenLayer> {
        static OBJECTS: OnceLock<Option<FrozenLayer>> = OnceLock::new();
        static VERSIONS: OnceLock<Option<FrozenLayer>> = OnceLock::new();
        type Config = fn() -> Option<FrozenLayer>;
        let (cell, config): (_, Config) = match self {
            Listing::ObjectsV2 => (&OBJECTS, || ListObjectsV2::new().config()),
            Listing::Versions => (&VERSIONS, || ListObjectVersions::new().config()),
        };
        cell.get_or_init(|| {
            config().filter(|layer| layer.load::<SharedResponseDeserializer>().is_some())
        })
        .clone()
    }

    fn parse(self, body: &[u8]) -> Option<RawPage> {
        match self {
            Listing::ObjectsV2 => page_xml::objects_v2(body),
            Listing::Versions => page_xml::versions(body),
        }
    }

    /// What the SDK's caller receives when the fast path read the page.
    fn empty_output(self) -> Output {
        match self {
            Listing::ObjectsV2 => Output::erase(ListObjectsV2Output::builder().build()),
            Listing::Versions => Output::erase(ListObjectVersionsOutput::builder().build()),
        }
    }
}

/// The interceptor to add to one listing request.
#[derive(Debug)]
pub struct FastListing {
    listing: Listing,
    slot: Slot,
    /// Tells the truncation check (`CompleteXml`) that the page parsed:
    /// the parse reads to the root's end tag and then to the end of the
    /// body, so a cut page never parses.
    whole: ReadWhole,
}

impl FastListing {
    pub fn new(listing: Listing, slot: &Slot) -> FastListing {
        FastListing {
            listing,
            slot: slot.clone(),
            whole: ReadWhole::default(),
        }
    }
}

impl Intercept for FastListing {
    fn name(&self) -> &'static str {
        "chronotrace-ops: streaming listing parse"
    }

    /// Runs once per operation, after the operation's configuration is in
    /// the bag: the interceptor state, the bag's top layer, then holds ours
    /// in front of the SDK's deserialiser.
    fn read_before_execution(
        &self,
        _context: &BeforeSerializationInterceptorContextRef<'_>,
        cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        if let Some(sdk) = self.listing.sdk() {
            cfg.interceptor_state()
                .store_put(SharedResponseDeserializer::new(Deserializer {
                    listing: self.listing,
                    sdk,
                    slot: self.slot.clone(),
                    whole: self.whole.clone(),
                }))
                .store_put(self.whole.clone());
        }
        Ok(())
    }

    /// A retried attempt starts unproven, whatever the last one read.
    fn read_before_attempt(
        &self,
        _context: &BeforeTransmitInterceptorContextRef<'_>,
        _runtime_components: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), BoxError> {
        self.whole.set(false);
        Ok(())
    }
}

/// The fast path in front of the SDK's deserialiser.
#[derive(Debug)]
struct Deserializer {
    listing: Listing,
    /// The SDK's configuration of the operation (its deserialiser in it).
    sdk: FrozenLayer,
    slot: Slot,
    whole: ReadWhole,
}

impl Deserializer {
    fn sdk(&self) -> Option<&SharedResponseDeserializer> {
        self.sdk.load::<SharedResponseDeserializer>()
    }
}

impl DeserializeResponse for Deserializer {
    fn deserialize_streaming_with_config(
        &self,
        response: &mut HttpResponse,
        cfg: &ConfigBag,
    ) -> Option<OutputOrError> {
        self.sdk()?.deserialize_streaming_with_config(response, cfg)
    }

    fn deserialize_nonstreaming_with_config(
        &self,
        response: &HttpResponse,
        cfg: &ConfigBag,
    ) -> OutputOrError {
        // Each attempt starts empty: a retried request never leaves an
        // earlier attempt's page behind.
        let page = (response.status().as_u16() == 200)
            .then(|| response.body().bytes())
            .flatten()
            .and_then(|body| self.listing.parse(body));
        let parsed = page.is_some();
        self.slot.set(page);
        self.whole.set(parsed);
        if parsed {
            tracing::debug!("listing page: streaming parse");
            return Ok(self.listing.empty_output());
        }
        tracing::debug!(
            status = response.status().as_u16(),
            "listing page: left to the SDK's deserialiser"
        );
        match self.sdk() {
            Some(sdk) => sdk.deserialize_nonstreaming_with_config(response, cfg),
            // Unreachable: `sdk_operation` checked it holds one.
            None => Err(OrchestratorError::other(
                "no SDK deserialiser for the listing",
            )),
        }
    }
}
