//! The interactive terminal chat of `cabinet demo`: the person at the keyboard is a customer
//! of the demo business talking to the real bot through the sandbox.
//! (Stub interface: the full implementation replaces this.)

use super::{Sandbox, SandboxUser};

/// Runs the chat until end of input or `/quit`. Commands: plain text is sent; a number
/// presses the numbered button; `/contact +7…` shares one's own contact; `/user ID [lang]`
/// switches the customer; `/sticker`, `/photo`, `/voice` send those; `/help` lists these.
pub async fn run(
    sandbox: Sandbox,
    user: SandboxUser,
    input: impl tokio::io::AsyncBufRead + Unpin,
    output: impl std::io::Write,
) -> std::io::Result<()> {
    let _ = (sandbox, user, input, output);
    todo!()
}
