//! The echo server of the echo suite: one task per connection reads into a
//! reused 16 KiB buffer and writes back what it read (the shape of
//! examples/echo_handler.ts and bench/echo_server_deno.ts).

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn echo(mut conn: TcpStream) {
    let _ = conn.set_nodelay(true);
    let mut buf = vec![0u8; 16384];
    loop {
        match conn.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => {
                if conn.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        }
    }
}

/// Listen on 127.0.0.1:`port` (0 picks one), print `listening on
/// 127.0.0.1:PORT`, and serve until killed.
pub async fn serve(port: u16) {
    let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    println!(
        "listening on 127.0.0.1:{}",
        listener.local_addr().unwrap().port()
    );
    loop {
        if let Ok((conn, _)) = listener.accept().await {
            tokio::spawn(echo(conn));
        }
    }
}
