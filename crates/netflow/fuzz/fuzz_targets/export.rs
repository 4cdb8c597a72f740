//! NetFlow v5/v9 and IPFIX: one decoder fed a sequence of packets (so templates carry over).
#![no_main]

use ensuresec_netflow::export::{ExportConfig, ExportDecoder};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let mut d = ExportDecoder::new(ExportConfig { max_templates: 16 });
    let mut out = Vec::new();
    for packet in data.chunks(512) {
        let _ = d.decode("192.0.2.1".parse().expect("literal"), packet, &mut out);
    }
});
