//! pcap and pcapng captures.
#![no_main]

use ensuresec_netflow::flow_table::FlowTableConfig;
use ensuresec_netflow::pcap::flows_from_capture;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = flows_from_capture(data, FlowTableConfig { max_flows: 64, ..FlowTableConfig::default() });
});
