//! `connector.sds`, the Konnektor service directory (ServiceDirectory.xsd v3.1,
//! ServiceInformation.xsd v2.0, ProductInformation.xsd v1.1; konnektor.md §3).
//!
//! Parsing is lenient as real Konnektors require (gemSpec_CM_KOMLE KOM-LE-A_2076/2077):
//! elements are found by namespace (any prefix, also a default namespace), parts of
//! `ProductInformation` may be missing, unknown elements are ignored. Writing produces the
//! schema order. [`ConnectorServices::select`] picks the highest supported version per
//! service; [`ConnectorServices::ecc_capable`] implements A_17464.

use crate::model::ValueError;
use crate::service::{Service, ServiceVersion};
use crate::xml::read::{Attachments, Node, SchemaError, SchemaProblem};
use crate::xml::tree::{XmlError, parse};
use crate::xml::{XmlWriter, ns};

/// `PI:ProductInformation`. Fields a schema-valid SDS always has are still optional here,
/// because real Konnektors and test SDS files omit some of them (konnektor.md §3).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ProductInformation {
    /// `PI:InformationDate` (xs:dateTime, lexical).
    pub information_date: Option<String>,
    /// `PI:ProductTypeInformation/PI:ProductType`, e.g. `Konnektor`.
    pub product_type: Option<String>,
    /// `PI:ProductTypeInformation/PI:ProductTypeVersion`, e.g. `5.1.0`.
    pub product_type_version: Option<String>,
    /// `PI:ProductIdentification/PI:ProductVendorID`.
    pub product_vendor_id: Option<String>,
    /// `PI:ProductIdentification/PI:ProductCode`.
    pub product_code: Option<String>,
    /// `PI:ProductVersion/PI:Local/PI:HWVersion`.
    pub hw_version: Option<String>,
    /// `PI:ProductVersion/PI:Local/PI:FWVersion`.
    pub fw_version: Option<String>,
    /// `PI:ProductVersion/PI:Central` (instead of `Local`, for central products).
    pub central_version: Option<String>,
    /// `PI:ProductMiscellaneous/PI:ProductVendorName`.
    pub product_vendor_name: Option<String>,
    /// `PI:ProductMiscellaneous/PI:ProductName`.
    pub product_name: Option<String>,
}

/// `SI:Version` of one service.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceVersionInfo {
    /// `@TargetNamespace` (the WSDL namespace, e.g. `…/SignatureService/WSDL/v7.5`).
    pub target_namespace: String,
    /// `@Version` as written (three-part in practice).
    pub version: String,
    /// `SI:Abstract`.
    pub abstract_text: Option<String>,
    /// `SI:Endpoint/@Location` (plain HTTP).
    pub endpoint: Option<String>,
    /// `SI:EndpointTLS/@Location`.
    pub endpoint_tls: Option<String>,
    /// `SI:WSDL/@Location`.
    pub wsdl: Option<String>,
}

/// `SI:Service`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ServiceInfo {
    /// `@Name`, e.g. `SignatureService`.
    pub name: String,
    /// `SI:Abstract`.
    pub abstract_text: Option<String>,
    /// `SI:Versions/SI:Version`.
    pub versions: Vec<ServiceVersionInfo>,
}

/// `SDS:ConnectorServices`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectorServices {
    /// `PI:ProductInformation`.
    pub product_information: ProductInformation,
    /// `SDS:TLSMandatory`.
    pub tls_mandatory: bool,
    /// `SDS:ClientAutMandatory`.
    pub client_aut_mandatory: bool,
    /// `SI:ServiceInformation/SI:Service`.
    pub services: Vec<ServiceInfo>,
}

/// The version of a service chosen for use, with its endpoints.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SelectedService {
    /// Which service.
    pub service: Service,
    /// Highest supported version.
    pub version: ServiceVersion,
    /// `SI:EndpointTLS/@Location`.
    pub endpoint_tls: Option<String>,
    /// `SI:Endpoint/@Location`.
    pub endpoint: Option<String>,
}

/// Why a `connector.sds` could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SdsError {
    /// Not well-formed or hostile XML.
    #[error("connector.sds is not acceptable XML: {0}")]
    Xml(#[from] XmlError),
    /// A required part is missing or malformed.
    #[error("connector.sds: {0}")]
    Schema(#[from] SchemaError),
}

fn text_of(n: Node<'_, '_>, path: &[&str]) -> Option<String> {
    let mut cur = n.element();
    for name in path {
        cur = cur.children().iter().find(|c| c.is(ns::PI, name))?;
    }
    cur.children()
        .is_empty()
        .then(|| cur.text().trim().to_owned())
}

impl ProductInformation {
    fn parse(n: Node<'_, '_>) -> Self {
        let local = ["ProductIdentification", "ProductVersion", "Local"];
        let with = |last: &str| {
            let mut p = local.to_vec();
            p.push(last);
            text_of(n, &p)
        };
        Self {
            information_date: text_of(n, &["InformationDate"]),
            product_type: text_of(n, &["ProductTypeInformation", "ProductType"]),
            product_type_version: text_of(n, &["ProductTypeInformation", "ProductTypeVersion"]),
            product_vendor_id: text_of(n, &["ProductIdentification", "ProductVendorID"]),
            product_code: text_of(n, &["ProductIdentification", "ProductCode"]),
            hw_version: with("HWVersion"),
            fw_version: with("FWVersion"),
            central_version: text_of(n, &["ProductIdentification", "ProductVersion", "Central"]),
            product_vendor_name: text_of(n, &["ProductMiscellaneous", "ProductVendorName"]),
            product_name: text_of(n, &["ProductMiscellaneous", "ProductName"]),
        }
    }

    fn write(&self, w: &mut XmlWriter) {
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        w.start("PI:ProductInformation", &[]);
        w.leaf("PI:InformationDate", &o(&self.information_date));
        w.start("PI:ProductTypeInformation", &[]);
        w.leaf("PI:ProductType", &o(&self.product_type));
        w.leaf("PI:ProductTypeVersion", &o(&self.product_type_version));
        w.end();
        w.start("PI:ProductIdentification", &[]);
        w.leaf("PI:ProductVendorID", &o(&self.product_vendor_id));
        w.leaf("PI:ProductCode", &o(&self.product_code));
        w.start("PI:ProductVersion", &[]);
        match &self.central_version {
            Some(c) => w.leaf("PI:Central", c),
            None => {
                w.start("PI:Local", &[]);
                w.leaf("PI:HWVersion", &o(&self.hw_version));
                w.leaf("PI:FWVersion", &o(&self.fw_version));
                w.end();
            }
        }
        w.end();
        w.end();
        w.start("PI:ProductMiscellaneous", &[]);
        w.leaf("PI:ProductVendorName", &o(&self.product_vendor_name));
        w.leaf("PI:ProductName", &o(&self.product_name));
        w.end();
        w.end();
    }

    /// The `X-KIM-KONVersion` header value
    /// `<ProductName><ProductType><ProductTypeVersion><HWVersion><FWVersion>` (konnektor.md §3,
    /// gemSpec_CM_KOMLE); missing parts give empty brackets.
    #[must_use]
    pub fn kon_version_header(&self) -> String {
        let o = |v: &Option<String>| v.clone().unwrap_or_default();
        format!(
            "<{}><{}><{}><{}><{}>",
            o(&self.product_name),
            o(&self.product_type),
            o(&self.product_type_version),
            o(&self.hw_version),
            o(&self.fw_version)
        )
    }
}

impl ConnectorServices {
    /// Parses `connector.sds` leniently (see module docs).
    ///
    /// # Errors
    /// [`SdsError`] for hostile/malformed XML or a missing `TLSMandatory`,
    /// `ClientAutMandatory`, `ServiceInformation`, service name or version attribute.
    pub fn parse(bytes: &[u8]) -> Result<Self, SdsError> {
        let root = parse(bytes)?;
        let parts = Attachments::new();
        let n = Node::new(&root, "ConnectorServices", &parts);
        if !root.is(ns::SDS, "ConnectorServices") {
            let expected = Some(format!("{{{}}}ConnectorServices", ns::SDS));
            return Err(n
                .error(SchemaProblem::Unexpected {
                    found: root.expanded_name(),
                    expected,
                })
                .into());
        }
        let product_information = n
            .find(ns::PI, "ProductInformation")
            .map(|p| ProductInformation::parse(p.node()))
            .unwrap_or_default();
        let tls_mandatory = n.find_req(ns::SDS, "TLSMandatory")?.node().boolean()?;
        let client_aut_mandatory = n
            .find_req(ns::SDS, "ClientAutMandatory")?
            .node()
            .boolean()?;
        let si = n.find_req(ns::SI, "ServiceInformation")?;
        let mut services = Vec::new();
        for s in si.node().find_all(ns::SI, "Service") {
            services.push(parse_service(s.node())?);
        }
        Ok(Self {
            product_information,
            tls_mandatory,
            client_aut_mandatory,
            services,
        })
    }

    /// Writes the document in schema order.
    #[must_use]
    pub fn to_xml(&self) -> Vec<u8> {
        let mut w = XmlWriter::new();
        w.start(
            "SDS:ConnectorServices",
            &[
                ("xmlns:SDS", ns::SDS),
                ("xmlns:SI", ns::SI),
                ("xmlns:PI", ns::PI),
            ],
        );
        self.product_information.write(&mut w);
        w.leaf(
            "SDS:TLSMandatory",
            if self.tls_mandatory { "true" } else { "false" },
        );
        w.leaf(
            "SDS:ClientAutMandatory",
            if self.client_aut_mandatory {
                "true"
            } else {
                "false"
            },
        );
        w.start("SI:ServiceInformation", &[]);
        for s in &self.services {
            w.start("SI:Service", &[("Name", s.name.as_str())]);
            w.leaf(
                "SI:Abstract",
                s.abstract_text.as_deref().unwrap_or_default(),
            );
            w.start("SI:Versions", &[]);
            for v in &s.versions {
                w.start(
                    "SI:Version",
                    &[
                        ("TargetNamespace", &v.target_namespace),
                        ("Version", &v.version),
                    ],
                );
                w.leaf(
                    "SI:Abstract",
                    v.abstract_text.as_deref().unwrap_or_default(),
                );
                if let Some(e) = &v.endpoint {
                    w.empty("SI:Endpoint", &[("Location", e)]);
                }
                w.empty(
                    "SI:EndpointTLS",
                    &[("Location", v.endpoint_tls.as_deref().unwrap_or_default())],
                );
                if let Some(e) = &v.wsdl {
                    w.empty("SI:WSDL", &[("Location", e)]);
                }
                w.end();
            }
            w.end();
            w.end();
        }
        w.end();
        w.finish()
    }

    /// The highest version of `service` whose `TargetNamespace` is a WSDL namespace this crate
    /// implements and whose three-part `Version` lies in that namespace's major.minor
    /// (KOM-LE-A_2077; konnektor.md §3). Versions that are not three-part are ignored.
    #[must_use]
    pub fn select(&self, service: Service) -> Option<SelectedService> {
        let supported = service.wsdl_namespaces();
        self.services
            .iter()
            .filter(|s| s.name == service.name())
            .flat_map(|s| s.versions.iter())
            .filter_map(|v| {
                let parsed = ServiceVersion::parse(v.version.trim()).ok()?;
                let ok = supported.iter().any(|(uri, major, minor)| {
                    *uri == v.target_namespace.trim()
                        && (parsed.major, parsed.minor) == (*major, *minor)
                });
                ok.then_some((parsed, v))
            })
            .max_by_key(|(parsed, _)| *parsed)
            .map(|(version, v)| SelectedService {
                service,
                version,
                endpoint_tls: v.endpoint_tls.clone(),
                endpoint: v.endpoint.clone(),
            })
    }

    /// ECC capability per gemSpec_CM_KOMLE A_17464: SignatureService ≥ 7.4.1 and
    /// EncryptionService ≥ 6.1.1 among the supported versions.
    #[must_use]
    pub fn ecc_capable(&self) -> bool {
        let at_least =
            |s: Service, min: ServiceVersion| self.select(s).is_some_and(|v| v.version >= min);
        at_least(Service::SignatureService, ServiceVersion::new(7, 4, 1))
            && at_least(Service::EncryptionService, ServiceVersion::new(6, 1, 1))
    }

    /// Replaces scheme, host and port of every endpoint (plain and TLS) with `base`
    /// (`scheme://host[:port]`), keeping path and query — for Konnektors behind gateways that
    /// advertise internal addresses (konnektor.md §3).
    ///
    /// # Errors
    /// [`ValueError`] when `base` is not `scheme://authority` without path.
    pub fn rewrite_endpoints(&mut self, base: &str) -> Result<(), ValueError> {
        let base = base.trim_end_matches('/');
        let (scheme, authority) = base.split_once("://").ok_or_else(|| {
            ValueError::new("Konnektor address", base, "must be scheme://host[:port]")
        })?;
        if scheme.is_empty() || authority.is_empty() || authority.contains(['/', '?', '#']) {
            return Err(ValueError::new(
                "Konnektor address",
                base,
                "must be scheme://host[:port] without path",
            ));
        }
        for v in self.services.iter_mut().flat_map(|s| s.versions.iter_mut()) {
            for e in [&mut v.endpoint, &mut v.endpoint_tls].into_iter().flatten() {
                *e = format!("{base}{}", path_of(e));
            }
        }
        Ok(())
    }
}

/// Path, query and fragment of an absolute URL (`""` when there is none).
fn path_of(url: &str) -> &str {
    let after_scheme = url.split_once("://").map_or(url, |(_, rest)| rest);
    after_scheme
        .find(['/', '?', '#'])
        .and_then(|i| after_scheme.get(i..))
        .unwrap_or("")
}

fn location(n: Node<'_, '_>, name: &str) -> Option<String> {
    n.find(ns::SI, name)
        .and_then(|e| e.node().attr("Location").map(|l| l.trim().to_owned()))
}

fn parse_service(n: Node<'_, '_>) -> Result<ServiceInfo, SchemaError> {
    let name = n.req_attr("Name")?.trim().to_owned();
    let abstract_text = n
        .find(ns::SI, "Abstract")
        .and_then(|a| a.node().text().ok().map(|t| t.as_ref().to_owned()));
    let mut versions = Vec::new();
    if let Some(vs) = n.find(ns::SI, "Versions") {
        for v in vs.node().find_all(ns::SI, "Version") {
            let v = v.node();
            versions.push(ServiceVersionInfo {
                target_namespace: v.req_attr("TargetNamespace")?.trim().to_owned(),
                version: v.req_attr("Version")?.trim().to_owned(),
                abstract_text: v
                    .find(ns::SI, "Abstract")
                    .and_then(|a| a.node().text().ok().map(|t| t.as_ref().to_owned())),
                endpoint: location(v, "Endpoint"),
                endpoint_tls: location(v, "EndpointTLS"),
                wsdl: location(v, "WSDL"),
            });
        }
    }
    Ok(ServiceInfo {
        name,
        abstract_text,
        versions,
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn path_extraction() {
        assert_eq!(path_of("https://10.0.0.1:443/ws/Sig?x=1"), "/ws/Sig?x=1");
        assert_eq!(path_of("https://10.0.0.1"), "");
    }
}
