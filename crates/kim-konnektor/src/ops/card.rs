//! XML mapping of EventService 7.2 `GetCards` (konnektor.md §6.1) and CardService 8.1
//! `GetPinStatus` / `VerifyPin` (§6.2).

use super::common::{
    decls, parse_card_handle, parse_context, parse_status, write_context, write_status,
};
use super::{
    GetCards, GetCardsResponse, GetPinStatus, GetPinStatusResponse, VerifyPin, VerifyPinResponse,
};
use crate::model::{
    CardInfo, CardType, CardVersion, Date, DateTime, Iccsn, PinResult, PinStatus, PinType,
    ValueError, VersionInfo,
};
use crate::xml::ns;
use crate::xml::read::{Node, SchemaError};
use crate::xml::write::XmlWriter;

impl GetCards {
    /// Writes `EVT:GetCards`.
    pub fn write(&self, w: &mut XmlWriter) {
        let mut attrs = decls(&["EVT", "CCTX", "CONN", "CARDCMN"]);
        attrs.push((
            "mandant-wide",
            if self.mandant_wide { "true" } else { "false" },
        ));
        w.start("EVT:GetCards", &attrs);
        write_context(w, &self.context);
        w.opt_leaf("CARDCMN:CtId", self.ct_id.as_deref());
        w.opt_leaf(
            "CARDCMN:SlotId",
            self.slot_id.map(|s| s.to_string()).as_deref(),
        );
        w.opt_leaf("CARDCMN:CardType", self.card_type.map(CardType::as_str));
        w.end();
    }

    /// Parses `EVT:GetCards`.
    ///
    /// # Errors
    /// [`SchemaError`] naming the path of the first violation.
    pub fn parse(n: Node<'_, '_>) -> Result<Self, SchemaError> {
        let mandant_wide = match n.attr("mandant-wide").map(str::trim) {
            None | Some("false" | "0") => false,
            Some("true" | "1") => true,
            Some(other) => {
                return Err(n.value_error(ValueError::new(
                    "mandant-wide",
                    other,
                    "must be a boolean",
                )));
            }
        };
        let mut s = n.seq();
        let context = parse_context(s.req(ns::CCTX, "Context")?.node())?;
        let ct_id = s
            .opt(ns::CARDCMN, "CtId")
            .map(|c| parse_ct_id(c.node()))
            .transpose()?;
        let slot_id = s
            .opt(ns::CARDCMN, "SlotId")
            .map(|c| parse_slot(c.node()))
            .transpose()?;
        let card_type = s
            .opt(ns::CARDCMN, "CardType")
            .map(|c| c.node().parse_with(CardType::from_wire))
            .transpose()?;
        s.end()?;
        Ok(Self {
            mandant_wide,
            context,
            ct_id,
            slot_id,
            card_type,
        })
    }
}

fn parse_ct_id(n: Node<'_, '_>) -> Result<String, SchemaError> {
    let t = n.text()?;
    let len = t.chars().count();
    if len == 0 || len > 64 {
        return Err(n.value_error(ValueError::new("CtId", t, "must have 1 to 64 characters")));
    }
    Ok(t.as_ref().to_owned())
}

fn parse_slot(n: Node<'_, '_>) -> Result<u32, SchemaError> {
    let v = n.uint()?;
    if v == 0 {
        return Err(n.value_error(ValueError::new("SlotId", "0", "must be a positive integer")));
    }
    Ok(v)
}

impl GetCardsResponse {
    /// Writes `EVT:GetCardsResponse`.
    pub fn write(&self, w: &mut XmlWriter) {
        w.start(
            "EVT:GetCardsResponse",
            &decls(&["EVT", "CONN", "CARD", "CARDCMN"]),
        );
        write_status(w, &self.status);
        w.start("CARD:Cards", &[]);
        for c in &self.cards {
            write_card(w, c);
        }
        w.end();
        w.end();
    }

    /// Parses `EVT:GetCardsResponse`.
    ///
    /// # Errors
    /// [`SchemaError`] naming the path of the first violation.
    pub fn parse(n: Node<'_, '_>) -> Result<Self, SchemaError> {
        let mut s = n.seq();
        let status = parse_status(s.req(ns::CONN, "Status")?.node())?;
        let cards_el = s.req(ns::CARD, "Cards")?;
        s.end()?;
        let cards_node = cards_el.node();
        let mut cs = cards_node.seq();
        let mut cards = Vec::new();
        for c in cs.many(ns::CARD, "Card") {
            cards.push(parse_card(c.node())?);
        }
        cs.end()?;
        Ok(Self { status, cards })
    }
}

fn write_version(w: &mut XmlWriter, name: &str, v: &VersionInfo) {
    w.start(name, &[]);
    w.leaf("CARD:Major", &v.major.to_string());
    w.leaf("CARD:Minor", &v.minor.to_string());
    w.leaf("CARD:Revision", &v.revision.to_string());
    w.end();
}

fn parse_version(n: Node<'_, '_>) -> Result<VersionInfo, SchemaError> {
    let mut s = n.seq();
    let mut part = |name: &'static str| -> Result<u16, SchemaError> {
        let c = s.req(ns::CARD, name)?;
        let node = c.node();
        let v = node.uint()?;
        u16::try_from(v).map_err(|_| {
            node.value_error(ValueError::new(
                "unsignedShort",
                &v.to_string(),
                "out of range",
            ))
        })
    };
    let v = VersionInfo {
        major: part("Major")?,
        minor: part("Minor")?,
        revision: part("Revision")?,
    };
    s.end()?;
    Ok(v)
}

const OPTIONAL_VERSIONS: [&str; 6] = [
    "CardPTPersVersion",
    "DataStructureVersion",
    "LoggingVersion",
    "ATRVersion",
    "GDOVersion",
    "KeyInfoVersion",
];

fn write_card_version(w: &mut XmlWriter, v: &CardVersion) {
    w.start("CARD:CardVersion", &[]);
    write_version(w, "CARD:COSVersion", &v.cos);
    write_version(w, "CARD:ObjectSystemVersion", &v.object_system);
    let optional = [
        v.card_pt_pers,
        v.data_structure,
        v.logging,
        v.atr,
        v.gdo,
        v.key_info,
    ];
    for (name, value) in OPTIONAL_VERSIONS.iter().zip(optional) {
        if let Some(value) = value {
            write_version(w, &format!("CARD:{name}"), &value);
        }
    }
    w.end();
}

fn parse_card_version(n: Node<'_, '_>) -> Result<CardVersion, SchemaError> {
    let mut s = n.seq();
    let cos = parse_version(s.req(ns::CARD, "COSVersion")?.node())?;
    let object_system = parse_version(s.req(ns::CARD, "ObjectSystemVersion")?.node())?;
    let mut opt = [None; 6];
    for (name, slot) in OPTIONAL_VERSIONS.iter().zip(opt.iter_mut()) {
        *slot = s
            .opt(ns::CARD, name)
            .map(|c| parse_version(c.node()))
            .transpose()?;
    }
    s.end()?;
    let [card_pt_pers, data_structure, logging, atr, gdo, key_info] = opt;
    Ok(CardVersion {
        cos,
        object_system,
        card_pt_pers,
        data_structure,
        logging,
        atr,
        gdo,
        key_info,
    })
}

fn write_card(w: &mut XmlWriter, c: &CardInfo) {
    w.start("CARD:Card", &[]);
    w.leaf("CONN:CardHandle", c.handle.as_str());
    w.leaf("CARDCMN:CardType", c.card_type.as_str());
    if let Some(v) = &c.version {
        write_card_version(w, v);
    }
    w.opt_leaf("CARDCMN:Iccsn", c.iccsn.as_ref().map(Iccsn::as_str));
    w.leaf("CARDCMN:CtId", &c.ct_id);
    w.leaf("CARDCMN:SlotId", &c.slot_id.to_string());
    w.leaf("CARD:InsertTime", c.insert_time.as_str());
    w.opt_leaf("CARD:CardHolderName", c.holder_name.as_deref());
    w.opt_leaf("CARD:Kvnr", c.kvnr.as_deref());
    w.opt_leaf(
        "CARD:CertificateExpirationDate",
        c.certificate_expiration_date.as_ref().map(Date::as_str),
    );
    w.end();
}

fn parse_card(n: Node<'_, '_>) -> Result<CardInfo, SchemaError> {
    let mut s = n.seq();
    let handle = parse_card_handle(s.req(ns::CONN, "CardHandle")?.node())?;
    let card_type = s
        .req(ns::CARDCMN, "CardType")?
        .node()
        .parse_with(CardType::from_wire)?;
    let version = s
        .opt(ns::CARD, "CardVersion")
        .map(|c| parse_card_version(c.node()))
        .transpose()?;
    let iccsn = s
        .opt(ns::CARDCMN, "Iccsn")
        .map(|c| c.node().parse_with(Iccsn::new))
        .transpose()?;
    let ct_id = parse_ct_id(s.req(ns::CARDCMN, "CtId")?.node())?;
    let slot_id = parse_slot(s.req(ns::CARDCMN, "SlotId")?.node())?;
    let insert_time = s
        .req(ns::CARD, "InsertTime")?
        .node()
        .parse_with(DateTime::new)?;
    let holder_name = s
        .opt(ns::CARD, "CardHolderName")
        .map(|c| c.node().string())
        .transpose()?;
    let kvnr = s
        .opt(ns::CARD, "Kvnr")
        .map(|c| parse_kvnr(c.node()))
        .transpose()?;
    let certificate_expiration_date = s
        .opt(ns::CARD, "CertificateExpirationDate")
        .map(|c| c.node().parse_with(Date::new))
        .transpose()?;
    s.end()?;
    Ok(CardInfo {
        handle,
        card_type,
        version,
        iccsn,
        ct_id,
        slot_id,
        insert_time,
        holder_name,
        kvnr,
        certificate_expiration_date,
    })
}

fn parse_kvnr(n: Node<'_, '_>) -> Result<String, SchemaError> {
    n.parse_with(|t| {
        let ok = matches!(t.as_bytes(), [first, rest @ ..] if first.is_ascii_uppercase() && rest.len() == 9 && rest.iter().all(u8::is_ascii_digit));
        if ok { Ok(t.to_owned()) } else { Err(ValueError::new("Kvnr", t, "must match [A-Z][0-9]{9}")) }
    })
}

fn write_pin_request(
    w: &mut XmlWriter,
    name: &str,
    ctx: &crate::model::Context,
    handle: &str,
    pin: PinType,
) {
    w.start(name, &decls(&["CARD", "CCTX", "CONN", "CARDCMN"]));
    write_context(w, ctx);
    w.leaf("CONN:CardHandle", handle);
    w.leaf("CARDCMN:PinTyp", pin.as_str());
    w.end();
}

type PinRequestParts = (crate::model::Context, crate::model::CardHandle, PinType);

fn parse_pin_request(n: Node<'_, '_>) -> Result<PinRequestParts, SchemaError> {
    let mut s = n.seq();
    let context = parse_context(s.req(ns::CCTX, "Context")?.node())?;
    let handle = parse_card_handle(s.req(ns::CONN, "CardHandle")?.node())?;
    let pin = s
        .req(ns::CARDCMN, "PinTyp")?
        .node()
        .parse_with(PinType::from_wire)?;
    s.end()?;
    Ok((context, handle, pin))
}

impl GetPinStatus {
    /// Writes `CARD:GetPinStatus`.
    pub fn write(&self, w: &mut XmlWriter) {
        write_pin_request(
            w,
            "CARD:GetPinStatus",
            &self.context,
            self.card_handle.as_str(),
            self.pin_type,
        );
    }

    /// Parses `CARD:GetPinStatus`.
    ///
    /// # Errors
    /// [`SchemaError`] naming the path of the first violation.
    pub fn parse(n: Node<'_, '_>) -> Result<Self, SchemaError> {
        let (context, card_handle, pin_type) = parse_pin_request(n)?;
        Ok(Self {
            context,
            card_handle,
            pin_type,
        })
    }
}

impl VerifyPin {
    /// Writes `CARD:VerifyPin`.
    pub fn write(&self, w: &mut XmlWriter) {
        write_pin_request(
            w,
            "CARD:VerifyPin",
            &self.context,
            self.card_handle.as_str(),
            self.pin_type,
        );
    }

    /// Parses `CARD:VerifyPin`.
    ///
    /// # Errors
    /// [`SchemaError`] naming the path of the first violation.
    pub fn parse(n: Node<'_, '_>) -> Result<Self, SchemaError> {
        let (context, card_handle, pin_type) = parse_pin_request(n)?;
        Ok(Self {
            context,
            card_handle,
            pin_type,
        })
    }
}

impl GetPinStatusResponse {
    /// Writes `CARD:GetPinStatusResponse`.
    pub fn write(&self, w: &mut XmlWriter) {
        w.start("CARD:GetPinStatusResponse", &decls(&["CARD", "CONN"]));
        write_status(w, &self.status);
        w.opt_leaf("CARD:PinStatus", self.pin_status.map(PinStatus::as_str));
        w.opt_leaf(
            "CARD:LeftTries",
            self.left_tries.map(|t| t.to_string()).as_deref(),
        );
        w.end();
    }

    /// Parses `CARD:GetPinStatusResponse`.
    ///
    /// # Errors
    /// [`SchemaError`] naming the path of the first violation.
    pub fn parse(n: Node<'_, '_>) -> Result<Self, SchemaError> {
        let mut s = n.seq();
        let status = parse_status(s.req(ns::CONN, "Status")?.node())?;
        let pin_status = s
            .opt(ns::CARD, "PinStatus")
            .map(|c| c.node().parse_with(PinStatus::from_wire))
            .transpose()?;
        let left_tries = s
            .opt(ns::CARD, "LeftTries")
            .map(|c| c.node().uint())
            .transpose()?;
        s.end()?;
        Ok(Self {
            status,
            pin_status,
            left_tries,
        })
    }
}

impl VerifyPinResponse {
    /// Writes `CARD:VerifyPinResponse` (`CARDCMN:PinResponseType`).
    pub fn write(&self, w: &mut XmlWriter) {
        w.start(
            "CARD:VerifyPinResponse",
            &decls(&["CARD", "CONN", "CARDCMN"]),
        );
        write_status(w, &self.status);
        w.leaf("CARDCMN:PinResult", self.pin_result.as_str());
        w.opt_leaf(
            "CARDCMN:LeftTries",
            self.left_tries.map(|t| t.to_string()).as_deref(),
        );
        w.end();
    }

    /// Parses `CARD:VerifyPinResponse`.
    ///
    /// # Errors
    /// [`SchemaError`] naming the path of the first violation.
    pub fn parse(n: Node<'_, '_>) -> Result<Self, SchemaError> {
        let mut s = n.seq();
        let status = parse_status(s.req(ns::CONN, "Status")?.node())?;
        let pin_result = s
            .req(ns::CARDCMN, "PinResult")?
            .node()
            .parse_with(PinResult::from_wire)?;
        let left_tries = s
            .opt(ns::CARDCMN, "LeftTries")
            .map(|c| c.node().uint())
            .transpose()?;
        s.end()?;
        Ok(Self {
            status,
            pin_result,
            left_tries,
        })
    }
}
