//! The LDAPv3 protocol side (RFC 4511) on `ldap3_proto`: bind, search, unbind, abandon; every
//! write operation is refused with unwillingToPerform, unknown extended operations with
//! protocolError; undecodable input gets a Notice of Disconnection and the connection closes.

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use ldap3_proto::LdapCodec;
use ldap3_proto::control::LdapControl;
use ldap3_proto::proto::{
    LdapBindCred, LdapBindResponse, LdapExtendedResponse, LdapMsg, LdapOp, LdapPartialAttribute,
    LdapResult, LdapResultCode, LdapSearchRequest, LdapSearchResultEntry, LdapSearchScope,
};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio_util::codec::Framed;

use crate::Shared;
use crate::filter::matches;
use crate::model::{Attr, BASE_DN, canonical_attribute};

/// RFC 4511 §4.4.1 Notice of Disconnection.
const NOTICE_OF_DISCONNECTION: &str = "1.3.6.1.4.1.1466.20036";
/// RFC 2696 paged results control.
const PAGED_RESULTS_OID: &str = "1.2.840.113556.1.4.319";
/// Largest LDAP request accepted (bytes).
const MAX_REQUEST: usize = 64 * 1024;

/// State of one connection.
#[derive(Debug, Default)]
struct Session {
    /// A simple bind with the configured DN and password succeeded.
    authenticated: bool,
}

/// What to do after answering a request.
enum Next {
    Continue,
    Close,
}

/// Serves one LDAP connection until unbind, error, idle timeout or EOF.
pub async fn serve_connection<S>(stream: S, shared: Arc<Shared>)
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    shared
        .stats
        .ldap_connections
        .fetch_add(1, Ordering::Relaxed);
    let idle = Duration::from_secs(shared.config.idle_timeout_secs);
    let mut framed = Framed::new(stream, LdapCodec::new(Some(MAX_REQUEST), None));
    let mut session = Session::default();
    loop {
        let msg = match tokio::time::timeout(idle, framed.next()).await {
            Err(_) | Ok(None) => break,
            Ok(Some(Ok(msg))) => msg,
            Ok(Some(Err(e))) => {
                tracing::debug!(error = %e, "undecodable LDAP request, disconnecting");
                let _ = framed.send(notice(LdapResultCode::ProtocolError)).await;
                break;
            }
        };
        let (responses, next) = handle(&shared, &mut session, msg);
        for r in responses {
            if framed.feed(r).await.is_err() {
                return;
            }
        }
        if framed.flush().await.is_err() {
            return;
        }
        if matches!(next, Next::Close) {
            break;
        }
    }
}

fn notice(code: LdapResultCode) -> LdapMsg {
    LdapMsg::new(
        0,
        LdapOp::ExtendedResponse(LdapExtendedResponse {
            res: result(code, "request could not be decoded"),
            name: Some(NOTICE_OF_DISCONNECTION.into()),
            value: None,
        }),
    )
}

fn result(code: LdapResultCode, message: &str) -> LdapResult {
    LdapResult {
        code,
        matcheddn: String::new(),
        message: message.into(),
        referral: Vec::new(),
    }
}

fn handle(shared: &Shared, session: &mut Session, msg: LdapMsg) -> (Vec<LdapMsg>, Next) {
    let id = msg.msgid;
    let refuse = |op: fn(LdapResult) -> LdapOp| {
        let r = result(
            LdapResultCode::UnwillingToPerform,
            "the directory is read-only",
        );
        (vec![LdapMsg::new(id, op(r))], Next::Continue)
    };
    match msg.op {
        LdapOp::BindRequest(req) => {
            let res = bind(shared, session, req.version, &req.dn, &req.cred);
            let op = LdapOp::BindResponse(LdapBindResponse {
                res,
                saslcreds: None,
            });
            (vec![LdapMsg::new(id, op)], Next::Continue)
        }
        LdapOp::UnbindRequest => (Vec::new(), Next::Close),
        LdapOp::SearchRequest(req) => {
            (search(shared, session, id, &req, &msg.ctrl), Next::Continue)
        }
        // Searches are answered synchronously, so nothing is ever left to abandon.
        LdapOp::AbandonRequest(_) => (Vec::new(), Next::Continue),
        LdapOp::ExtendedRequest(req) => {
            let op = LdapOp::ExtendedResponse(LdapExtendedResponse {
                res: result(
                    LdapResultCode::ProtocolError,
                    &format!("extended operation {} not supported", req.name),
                ),
                name: None,
                value: None,
            });
            (vec![LdapMsg::new(id, op)], Next::Continue)
        }
        LdapOp::ModifyRequest(_) => refuse(LdapOp::ModifyResponse),
        LdapOp::AddRequest(_) => refuse(LdapOp::AddResponse),
        LdapOp::DelRequest(_) => refuse(LdapOp::DelResponse),
        LdapOp::ModifyDNRequest(_) => refuse(LdapOp::ModifyDNResponse),
        LdapOp::CompareRequest(_) => refuse(LdapOp::CompareResult),
        _ => (vec![notice(LdapResultCode::ProtocolError)], Next::Close),
    }
}

fn bind(
    shared: &Shared,
    session: &mut Session,
    version: i64,
    dn: &str,
    cred: &LdapBindCred,
) -> LdapResult {
    session.authenticated = false;
    if version != 3 {
        return result(LdapResultCode::ProtocolError, "only LDAPv3 is supported");
    }
    let LdapBindCred::Simple(password) = cred else {
        return result(LdapResultCode::AuthMethodNotSupported, "only simple bind");
    };
    if dn.is_empty() && password.is_empty() {
        return result(LdapResultCode::Success, "");
    }
    let c = &shared.config;
    let dn_ok = c
        .bind_dn
        .as_deref()
        .is_some_and(|d| normalize_dn(d) == normalize_dn(dn));
    if dn_ok && c.bind_password.as_deref() == Some(password.as_str()) {
        session.authenticated = true;
        return result(LdapResultCode::Success, "");
    }
    result(LdapResultCode::InvalidCredentials, "invalid credentials")
}

/// Lower case without spaces around `,` and `=` (enough for the DNs this directory has).
fn normalize_dn(dn: &str) -> String {
    dn.split(',')
        .map(|rdn| rdn.split('=').map(str::trim).collect::<Vec<_>>().join("="))
        .collect::<Vec<_>>()
        .join(",")
        .to_lowercase()
}

fn done(id: i32, code: LdapResultCode, message: &str, ctrl: Vec<LdapControl>) -> LdapMsg {
    LdapMsg::new_with_ctrls(id, LdapOp::SearchResultDone(result(code, message)), ctrl)
}

fn search(
    shared: &Shared,
    session: &Session,
    id: i32,
    req: &LdapSearchRequest,
    ctrls: &[LdapControl],
) -> Vec<LdapMsg> {
    shared.stats.ldap_searches.fetch_add(1, Ordering::Relaxed);
    if !shared.config.allow_anonymous && !session.authenticated {
        let m = "bind required";
        return vec![done(id, LdapResultCode::InsufficentAccessRights, m, vec![])];
    }
    let found = match candidates(shared, req) {
        Ok(found) => found,
        Err(code) => return vec![done(id, code, "no such base object", vec![])],
    };
    let server_max = shared.config.max_size_limit as usize;
    let limit = match usize::try_from(req.sizelimit) {
        Ok(n) if n > 0 => n.min(server_max),
        _ => server_max,
    };
    let exceeded = found.len() > limit;
    let found: Vec<_> = found.into_iter().take(limit).collect();
    let paged = ctrls.iter().find_map(|c| match c {
        LdapControl::SimplePagedResults { size, cookie } => Some((*size, cookie.clone())),
        _ => None,
    });
    let Some((page_size, cookie)) = paged else {
        let mut out = entries(id, found);
        let code = if exceeded {
            LdapResultCode::SizeLimitExceeded
        } else {
            LdapResultCode::Success
        };
        out.push(done(id, code, "", vec![]));
        return out;
    };
    page(id, found, exceeded, page_size, &cookie)
}

/// One page of RFC 2696 paged results; the cookie is the ASCII offset of the next entry.
fn page(
    id: i32,
    found: Vec<LdapSearchResultEntry>,
    exceeded: bool,
    page_size: i64,
    cookie: &[u8],
) -> Vec<LdapMsg> {
    let total = found.len();
    let offset = if cookie.is_empty() {
        Some(0)
    } else {
        std::str::from_utf8(cookie)
            .ok()
            .and_then(|s| s.parse::<usize>().ok())
            .filter(|o| *o <= total)
    };
    let Some(offset) = offset else {
        let m = "invalid paged results cookie";
        return vec![done(id, LdapResultCode::UnwillingToPerform, m, vec![])];
    };
    let size = usize::try_from(page_size).unwrap_or(0);
    let control = |cookie: Vec<u8>| LdapControl::SimplePagedResults {
        size: i64::try_from(total).unwrap_or(i64::MAX),
        cookie,
    };
    if size == 0 {
        // RFC 2696 §3: a size of zero abandons the paged search.
        return vec![done(id, LdapResultCode::Success, "", vec![control(vec![])])];
    }
    let end = offset.saturating_add(size).min(total);
    let mut out = entries(
        id,
        found.into_iter().skip(offset).take(end - offset).collect(),
    );
    let (next, code) = if end < total {
        (end.to_string().into_bytes(), LdapResultCode::Success)
    } else if exceeded {
        (Vec::new(), LdapResultCode::SizeLimitExceeded)
    } else {
        (Vec::new(), LdapResultCode::Success)
    };
    out.push(done(id, code, "", vec![control(next)]));
    out
}

fn entries(id: i32, found: Vec<LdapSearchResultEntry>) -> Vec<LdapMsg> {
    found
        .into_iter()
        .map(|e| LdapMsg::new(id, LdapOp::SearchResultEntry(e)))
        .collect()
}

/// Matching entries in directory order, attributes already selected.
fn candidates(
    shared: &Shared,
    req: &LdapSearchRequest,
) -> Result<Vec<LdapSearchResultEntry>, LdapResultCode> {
    let base = normalize_dn(&req.base);
    if base.is_empty() && req.scope == LdapSearchScope::Base {
        return Ok(vec![root_dse(req)]);
    }
    let dir = shared
        .directory
        .read()
        .map_err(|_| LdapResultCode::OperationsError)?;
    let select = |dn: String, attrs: Vec<Attr>| LdapSearchResultEntry {
        dn,
        attributes: select_attributes(attrs, &req.attrs, req.typesonly),
    };
    let mut out = Vec::new();
    if base == BASE_DN {
        let base_attrs = vec![Attr {
            name: "objectClass",
            values: vec![b"top".to_vec(), b"dcObject".to_vec()],
        }];
        let with_base = matches!(req.scope, LdapSearchScope::Base | LdapSearchScope::Subtree);
        if with_base && matches(&req.filter, &base_attrs) {
            out.push(select(BASE_DN.to_owned(), base_attrs));
        }
        if req.scope != LdapSearchScope::Base {
            for e in dir.visible() {
                let attrs = e.attributes();
                if matches(&req.filter, &attrs) {
                    out.push(select(e.dn(), attrs));
                }
            }
        }
        return Ok(out);
    }
    let entry = dir.visible().find(|e| normalize_dn(&e.dn()) == base);
    let Some(entry) = entry else {
        return Err(LdapResultCode::NoSuchObject);
    };
    if matches!(req.scope, LdapSearchScope::Base | LdapSearchScope::Subtree) {
        let attrs = entry.attributes();
        if matches(&req.filter, &attrs) {
            out.push(select(entry.dn(), attrs));
        }
    }
    Ok(out)
}

fn root_dse(req: &LdapSearchRequest) -> LdapSearchResultEntry {
    let attrs = vec![
        LdapPartialAttribute {
            atype: "namingContexts".into(),
            vals: vec![BASE_DN.as_bytes().to_vec()],
        },
        LdapPartialAttribute {
            atype: "supportedLDAPVersion".into(),
            vals: vec![b"3".to_vec()],
        },
        LdapPartialAttribute {
            atype: "supportedControl".into(),
            vals: vec![PAGED_RESULTS_OID.as_bytes().to_vec()],
        },
    ];
    let wanted = |a: &LdapPartialAttribute| {
        req.attrs.is_empty()
            || req.attrs.iter().any(|r| r == "*" || r == "+")
            || req.attrs.iter().any(|r| r.eq_ignore_ascii_case(&a.atype))
    };
    LdapSearchResultEntry {
        dn: String::new(),
        attributes: attrs.into_iter().filter(wanted).collect(),
    }
}

/// Applies the requested attribute list (RFC 4511 §4.5.1.8): empty or `*` is every user
/// attribute, `1.1` none; certificates are returned as `userCertificate;binary` unless asked
/// for without the option.
fn select_attributes(
    attrs: Vec<Attr>,
    requested: &[String],
    types_only: bool,
) -> Vec<LdapPartialAttribute> {
    let all = requested.is_empty() || requested.iter().any(|r| r == "*");
    let mut out = Vec::new();
    for a in attrs {
        let asked = requested
            .iter()
            .find(|r| canonical_attribute(r) == Some(a.name));
        if !all && asked.is_none() {
            continue;
        }
        let atype = if a.name == "userCertificate" {
            let plain = asked.is_some_and(|r| !r.contains(';'));
            if plain {
                "userCertificate"
            } else {
                "userCertificate;binary"
            }
        } else {
            a.name
        };
        let vals = if types_only { Vec::new() } else { a.values };
        out.push(LdapPartialAttribute {
            atype: atype.to_owned(),
            vals,
        });
    }
    out
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing, clippy::unreachable)]
    use super::*;

    fn attrs() -> Vec<Attr> {
        vec![
            Attr {
                name: "mail",
                values: vec![b"a@x.de".to_vec()],
            },
            Attr {
                name: "userCertificate",
                values: vec![vec![1, 2]],
            },
        ]
    }

    fn names(out: &[LdapPartialAttribute]) -> Vec<&str> {
        out.iter().map(|a| a.atype.as_str()).collect()
    }

    #[test]
    fn attribute_selection_follows_rfc_4511() {
        let all = select_attributes(attrs(), &[], false);
        assert_eq!(names(&all), vec!["mail", "userCertificate;binary"]);
        let none = select_attributes(attrs(), &["1.1".into()], false);
        assert!(none.is_empty());
        let plain = select_attributes(attrs(), &["USERCERTIFICATE".into()], false);
        assert_eq!(names(&plain), vec!["userCertificate"]);
        let types = select_attributes(attrs(), &["MAIL".into()], true);
        assert_eq!(names(&types), vec!["mail"]);
        assert!(types[0].vals.is_empty());
    }

    #[test]
    fn dns_compare_without_case_and_spaces() {
        assert_eq!(normalize_dn("DC=Data, dc = VZD"), "dc=data,dc=vzd");
    }

    #[test]
    fn paging_walks_the_results_with_offset_cookies() {
        let found: Vec<_> = (0..5)
            .map(|i| LdapSearchResultEntry {
                dn: format!("uid={i}"),
                attributes: vec![],
            })
            .collect();
        let first = page(1, found.clone(), false, 2, b"");
        assert_eq!(first.len(), 3);
        let cookie = match &first[2].ctrl[0] {
            LdapControl::SimplePagedResults { cookie, size } => {
                assert_eq!(*size, 5);
                cookie.clone()
            }
            other => unreachable!("unexpected control {other:?}"),
        };
        assert_eq!(cookie, b"2");
        let last = page(1, found.clone(), true, 10, b"4");
        assert_eq!(last.len(), 2);
        assert!(matches!(
            &last[1].op,
            LdapOp::SearchResultDone(r) if r.code == LdapResultCode::SizeLimitExceeded
        ));
        let bad = page(1, found, false, 2, b"99");
        assert!(matches!(
            &bad[0].op,
            LdapOp::SearchResultDone(r) if r.code == LdapResultCode::UnwillingToPerform
        ));
    }
}
