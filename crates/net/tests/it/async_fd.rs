//! `Async<T>` over plain fds: pipes.

use std::io::{Read, Write};

use eddy_net::Async;
use futures_util::io::{AsyncReadExt, AsyncWriteExt};

use crate::support::{block_on, spawn};

#[test]
#[cfg_attr(
    miri,
    ignore = "a megabyte through the interpreter takes minutes; read_with_retries covers the same path"
)]
fn pipe_carries_a_megabyte_through_async_io() {
    block_on(async {
        let (reader, writer) = std::io::pipe().unwrap();
        let mut reader = Async::new(reader).unwrap();
        let mut writer = Async::new(writer).unwrap();
        let payload: Vec<u8> = (0..1 << 20).map(|i: u32| (i % 251) as u8).collect();
        let expected = payload.clone();
        spawn(async move {
            writer.write_all(&payload).await.unwrap();
            // Dropping the writer closes the pipe: the reader sees end-of-stream.
        });
        let mut got = Vec::new();
        reader.read_to_end(&mut got).await.unwrap();
        assert!(got == expected);
    });
}

#[test]
fn read_with_retries_until_data_arrives() {
    block_on(async {
        let (reader, writer) = std::io::pipe().unwrap();
        let reader = Async::new(reader).unwrap();
        let writer = Async::new(writer).unwrap();
        spawn(async move {
            crate::support::yield_now().await;
            writer.write_with(|mut w| w.write(b"late")).await.unwrap();
        });
        let mut buf = [0u8; 8];
        let n = reader.read_with(|mut r| r.read(&mut buf)).await.unwrap();
        assert_eq!(&buf[..n], b"late");
        let inner = reader.into_inner().unwrap();
        drop(inner);
    });
}

#[test]
#[cfg_attr(miri, ignore = "opening a file needs Miri's isolation off")]
fn regular_files_are_refused_with_invalid_input() {
    block_on(async {
        let file = std::fs::File::open(concat!(env!("CARGO_MANIFEST_DIR"), "/Cargo.toml")).unwrap();
        let err = Async::new(file).unwrap_err();
        assert_eq!(err.kind(), std::io::ErrorKind::InvalidInput);
    });
}
