//! `connector.sds`, the Konnektor service directory (ServiceDirectory.xsd v3.1,
//! ServiceInformation.xsd v2.0, ProductInformation.xsd v1.1; konnektor.md §3).

use crate::service::{Service, ServiceVersion};

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
