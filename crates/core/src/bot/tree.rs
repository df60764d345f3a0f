//! The few pieces the schema is built of besides dptree's own: `turn!` (an endpoint over a
//! handler of `&Turn`), [`try_inspect`] and [`try_filter_map`] (dptree's `inspect_async` and
//! `filter_map_async` for steps that may fail: the update then ends with the error, as a
//! handler's would), and [`observed`] (tells the sandbox an update is done).

use std::collections::{BTreeMap, BTreeSet};
use std::ops::ControlFlow;
use std::sync::Arc;

use dptree::di::{DependencyMap, Injectable};
use dptree::{HandlerDescription, HandlerSignature, Type};
use teloxide::dispatching::{DpHandlerDescription, UpdateHandler};
use teloxide::types::Update;

use super::{HandlerResult, UpdateObserver};
use crate::error::BotError;

/// An endpoint that runs a handler taking `&Turn`: `.endpoint(turn!(account::balance))`.
macro_rules! turn {
    ($handler:path) => {
        |turn: $crate::bot::Turn| async move { $handler(&turn).await }
    };
}

/// Runs `f` with its dependencies, then goes on to the handlers below; when `f` fails, the
/// update ends with its error.
#[track_caller]
pub(super) fn try_inspect<F, Args>(f: F) -> UpdateHandler<BotError>
where
    F: Injectable<HandlerResult, Args> + Send + Sync + 'static,
{
    let f = Arc::new(f);
    dptree::from_fn_with_description(
        DpHandlerDescription::entry(),
        move |deps: DependencyMap, cont| {
            let f = Arc::clone(&f);
            async move {
                let result = {
                    let run = f.inject(&deps);
                    run().await
                };
                match result {
                    Ok(()) => cont(deps).await,
                    Err(e) => ControlFlow::Break(Err(e)),
                }
            }
        },
        HandlerSignature::Other {
            obligations: F::obligations(),
            guaranteed_outcomes: BTreeSet::new(),
            conditional_outcomes: BTreeSet::new(),
            continues: true,
        },
    )
}

/// `Ok(Some(value))` from `f` passes `value` on to the handlers below; `Ok(None)` lets the
/// update go on to the next branch; an error ends the update with it.
#[track_caller]
pub(super) fn try_filter_map<F, Args, T>(f: F) -> UpdateHandler<BotError>
where
    F: Injectable<Result<Option<T>, BotError>, Args> + Send + Sync + 'static,
    T: Send + Sync + 'static,
{
    let f = Arc::new(f);
    dptree::from_fn_with_description(
        DpHandlerDescription::entry(),
        move |deps: DependencyMap, cont| {
            let f = Arc::clone(&f);
            async move {
                let result = {
                    let run = f.inject(&deps);
                    run().await
                };
                match result {
                    Ok(Some(value)) => {
                        let mut inner = deps.clone();
                        inner.insert(value);
                        match cont(inner).await {
                            ControlFlow::Continue(_) => ControlFlow::Continue(deps),
                            done => done,
                        }
                    }
                    Ok(None) => ControlFlow::Continue(deps),
                    Err(e) => ControlFlow::Break(Err(e)),
                }
            }
        },
        HandlerSignature::Other {
            obligations: F::obligations(),
            guaranteed_outcomes: BTreeSet::from([Type::of::<T>()]),
            conditional_outcomes: BTreeSet::new(),
            continues: true,
        },
    )
}

/// A handler that lets the rest of the tree run, then counts the update by its kind and
/// records how long it took (`cabinet_updates_total`, `cabinet_update_seconds`) and what it
/// cost the database ([`crate::store::tally`]; the last update's is kept in the store's pool).
#[track_caller]
pub(super) fn measured() -> UpdateHandler<BotError> {
    let here = std::panic::Location::caller();
    dptree::from_fn_with_description(
        DpHandlerDescription::entry(),
        move |deps: DependencyMap, cont| async move {
            let update: Arc<Update> = deps.get();
            let ctx: Arc<Arc<super::Ctx>> = deps.get();
            let started = std::time::Instant::now();
            let (result, cost) = crate::store::tally(cont(deps)).await;
            crate::server::metrics::record_update(
                crate::server::metrics::update_kind(&update),
                started.elapsed().as_secs_f64(),
            );
            tracing::trace!(
                statements = cost.statements,
                transactions = cost.transactions,
                "the update's database cost"
            );
            ctx.store.pool().record_update(cost);
            result
        },
        HandlerSignature::Other {
            obligations: BTreeMap::from([(Type::of::<Arc<super::Ctx>>(), here)]),
            guaranteed_outcomes: BTreeSet::new(),
            conditional_outcomes: BTreeSet::new(),
            continues: true,
        },
    )
}

/// A handler that lets the rest of the tree run, then tells `observer` the update is done.
pub(super) fn observed(observer: Arc<dyn UpdateObserver>) -> UpdateHandler<BotError> {
    dptree::from_fn_with_description(
        DpHandlerDescription::entry(),
        move |deps: DependencyMap, cont| {
            let observer = observer.clone();
            async move {
                let update: Arc<Update> = deps.get();
                let result = cont(deps).await;
                observer.handled(update.id.0 as i32);
                result
            }
        },
        HandlerSignature::Other {
            obligations: BTreeMap::new(),
            guaranteed_outcomes: BTreeSet::new(),
            conditional_outcomes: BTreeSet::new(),
            continues: true,
        },
    )
}
