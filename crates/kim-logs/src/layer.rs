//! The `tracing_subscriber` layer: turns events into lines for the writer.

use std::sync::Arc;

use tracing::level_filters::LevelFilter;
use tracing::span::{Attributes, Id, Record};
use tracing::{Event, Subscriber};
use tracing_subscriber::Layer;
use tracing_subscriber::layer::Context;
use tracing_subscriber::registry::LookupSpan;

use crate::clock::Clock;
use crate::format::{Fields, OpVisitor, operation_line, performance_line};
use crate::writer::{LineSender, LogKind};

/// Target of the performance events (`tracing::info!(target: "kim_perf", step, ms, …)`).
pub const PERF_TARGET: &str = "kim_perf";

/// The correlation id of a span, kept in its extensions.
#[derive(Debug)]
struct OpId(String);

/// Writes operation and performance lines; filtering happens in the per-layer filter that
/// [`crate::layer`] wraps around it, on_event only sorts.
pub(crate) struct LogLayer {
    pub(crate) clock: Arc<dyn Clock>,
    pub(crate) sender: LineSender,
}

impl std::fmt::Debug for LogLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LogLayer").finish_non_exhaustive()
    }
}

/// Whether a callsite is of interest: every span (for the correlation id), performance
/// events when enabled, other events up to `level`.
pub(crate) fn wanted(meta: &tracing::Metadata<'_>, level: LevelFilter, performance: bool) -> bool {
    if meta.is_span() {
        true
    } else if meta.target() == PERF_TARGET {
        performance
    } else {
        *meta.level() <= level
    }
}

impl<S> Layer<S> for LogLayer
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    fn on_new_span(&self, attrs: &Attributes<'_>, id: &Id, ctx: Context<'_, S>) {
        let mut op = OpVisitor::default();
        attrs.record(&mut op);
        store_op(op, id, &ctx);
    }

    fn on_record(&self, id: &Id, values: &Record<'_>, ctx: Context<'_, S>) {
        let mut op = OpVisitor::default();
        values.record(&mut op);
        store_op(op, id, &ctx);
    }

    fn on_event(&self, event: &Event<'_>, ctx: Context<'_, S>) {
        let now = self.clock.now_unix_ms();
        let meta = event.metadata();
        let mut fields = Fields::default();
        event.record(&mut fields);
        let op = fields.op.take().or_else(|| span_op(event, &ctx));
        let (kind, line) = if meta.target() == PERF_TARGET {
            let line = performance_line(now, op.as_deref(), &fields);
            (LogKind::Performance, line)
        } else {
            let level = meta.level().as_str();
            let line = operation_line(now, level, meta.target(), op.as_deref(), &fields);
            (LogKind::Operation, line)
        };
        self.sender.send(kind, now, line);
    }
}

fn store_op<S>(op: OpVisitor, id: &Id, ctx: &Context<'_, S>)
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    if let (Some(op), Some(span)) = (op.0, ctx.span(id)) {
        span.extensions_mut().replace(OpId(op));
    }
}

/// The correlation id of the innermost span that has one.
fn span_op<S>(event: &Event<'_>, ctx: &Context<'_, S>) -> Option<String>
where
    S: Subscriber + for<'a> LookupSpan<'a>,
{
    ctx.event_scope(event)?
        .find_map(|span| span.extensions().get::<OpId>().map(|op| op.0.clone()))
}
