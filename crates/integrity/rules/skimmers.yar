/*
  ensuresec: JavaScript card skimmers (Magecart-style) and their loaders.

  A skimmer needs three things: to see the card (listeners on card fields or on the payment
  form), to pack it (JSON, btoa, escape) and to send it away (an image beacon, fetch,
  XMLHttpRequest, sendBeacon or a WebSocket to an absolute URL). The rules below require such
  combinations, so that ordinary checkout code (validating a card number field, posting to a
  relative URL) does not match. Loaders are matched on their obfuscation alone.
  Test samples for every rule are in crates/integrity/tests/yara.rs.
*/

rule js_card_field_listener_with_exfiltration
{
  meta:
    description = "Script listening to card fields or the payment form and sending data to an absolute URL"
    severity = "critical"
  strings:
    $field1 = /['"#\[=](cc[_-]?(number|num|cvv|cvc|exp\w*|owner)|card[_-]?(number|num|holder|cvc|cvv|code|expiry|exp\w*)|cardnumber|cvv2?|cvc2?|security[_-]?code)['"\]]/ nocase
    $field2 = /(payment|checkout|billing)[\w-]*form/ nocase
    $listen1 = /addEventListener\s*\(\s*['"](keyup|keydown|keypress|input|change|blur|submit|click|mouseup)['"]/
    $listen2 = /\.on(keyup|keydown|keypress|input|change|blur|submit|click)\s*=/
    $listen3 = /\.(keyup|keydown|change|blur|submit|click)\s*\(\s*function/
    $send1 = /new\s+Image\s*\(\s*\d*\s*,?\s*\d*\s*\)\s*\.\s*src\s*=\s*['"`]?(https?:)?\/\/[A-Za-z0-9.-]{1,100}/
    $send2 = /(fetch|sendBeacon)\s*\(\s*['"`](https?:|wss?:)?\/\/[A-Za-z0-9.-]{1,100}/
    $send3 = /\.open\s*\(\s*['"](POST|GET)['"]\s*,\s*['"`](https?:)?\/\/[A-Za-z0-9.-]{1,100}/
    $send4 = /new\s+WebSocket\s*\(\s*['"`]wss?:\/\/[A-Za-z0-9.-]{1,100}/
  condition:
    any of ($field*) and any of ($listen*) and any of ($send*)
}

rule js_form_data_harvest
{
  meta:
    description = "Script serialising every input of a form (and encoding it) before sending it to an absolute URL"
    severity = "high"
  strings:
    $all1 = /querySelectorAll\s*\(\s*['"](input|select|form input)/
    $all2 = /document\.forms\s*\[/
    $all3 = /\.elements\s*\[\s*\w+\s*\]\.value/
    $pack1 = /btoa\s*\(\s*(JSON\.stringify|encodeURIComponent|unescape|escape)/
    $pack2 = /JSON\.stringify\s*\(/
    $send1 = /new\s+Image\s*\(\s*\d*\s*,?\s*\d*\s*\)\s*\.\s*src\s*=/
    $send2 = /(fetch|sendBeacon)\s*\(\s*['"`](https?:|wss?:)?\/\/[A-Za-z0-9.-]{1,100}/
    $send3 = /\.open\s*\(\s*['"](POST|GET)['"]\s*,\s*['"`](https?:)?\/\/[A-Za-z0-9.-]{1,100}/
    $send4 = /new\s+WebSocket\s*\(/
  condition:
    any of ($all*) and any of ($pack*) and any of ($send*)
}

rule js_obfuscated_loader
{
  meta:
    description = "Obfuscated JavaScript loader: eval or Function of atob, unescape or String.fromCharCode, Dean Edwards packer, long hex-escaped strings"
    severity = "high"
  strings:
    $eval_atob = /(eval|Function|setTimeout)\s*\(\s*(window\.)?(atob|unescape|decodeURIComponent)\s*\(/
    $charcode = /(eval|Function)\s*\(\s*String\.fromCharCode\s*\(\s*\d{1,3}\s*(,\s*\d{1,3}\s*){30,}/
    $packer = "eval(function(p,a,c,k,e," ascii
    $hex = /(\\x[0-9a-fA-F]{2}){60,}/
  condition:
    any of them
}

rule js_dynamic_script_from_encoded_url
{
  meta:
    description = "Script element created at run time with a source decoded from base64 or char codes (how skimmers load their second stage)"
    severity = "high"
  strings:
    $create = /createElement\s*\(\s*['"]script['"]\s*\)/
    $src1 = /\.src\s*=\s*(window\.)?atob\s*\(/
    $src2 = /\.src\s*=\s*String\.fromCharCode\s*\(/
    $src3 = /\.setAttribute\s*\(\s*['"]src['"]\s*,\s*(window\.)?atob\s*\(/
  condition:
    $create and any of ($src*)
}

rule php_injected_skimmer_script
{
  meta:
    description = "PHP or template echoing a script that reads card fields (server-side skimmer injection into the checkout page)"
    severity = "high"
  strings:
    $echo = /(echo|print)\s*['"]\s*<script/ nocase
    $field = /(cc[_-]?number|card[_-]?number|cardnumber|cvv|cvc)/ nocase
  condition:
    $echo and $field
}
