/*
  ensuresec: web shells and PHP backdoors.

  Each rule names what it looks for in `description`, gives a `severity` (high or critical) for
  the alert, and keeps its strings short enough to quote as evidence. Matching is on content,
  whatever the file's name or extension: shells hide in images, caches and `.ico` files.
  Test samples for every rule are in crates/integrity/tests/yara.rs.
*/

rule php_eval_of_request_input
{
  meta:
    description = "PHP code evaluation (eval, assert, create_function, preg_replace /e) fed from request input, possibly through a decoder"
    severity = "critical"
  strings:
    $eval = /(eval|assert|create_function|call_user_func(_array)?)\s*\(\s*(@\s*)?((base64_decode|gzinflate|gzuncompress|gzdecode|str_rot13|hex2bin|urldecode|stripslashes)\s*\(\s*)*(@\s*)?\$_(POST|GET|REQUEST|COOKIE|SERVER|FILES)\b/ nocase
    $preg = /preg_replace\s*\(\s*['"]\/[^'"]{1,200}\/[a-z]*e[a-z]*['"]\s*,\s*\$_(POST|GET|REQUEST|COOKIE)/ nocase
  condition:
    any of them
}

rule php_command_execution_from_request
{
  meta:
    description = "An operating-system command (system, exec, passthru, shell_exec, popen, proc_open, backticks) run with request input"
    severity = "critical"
  strings:
    $call = /(system|passthru|shell_exec|exec|popen|proc_open|pcntl_exec)\s*\(\s*(@\s*)?((base64_decode|urldecode|stripslashes|trim)\s*\(\s*)*\$_(POST|GET|REQUEST|COOKIE|SERVER)\b/ nocase
    $tick = /`\s*\$_(POST|GET|REQUEST|COOKIE)\s*\[/
  condition:
    any of them
}

rule php_request_as_function
{
  meta:
    description = "A function name taken from the request and called: $_GET['f']($_GET['a']), the shortest PHP backdoor"
    severity = "critical"
  strings:
    $dyn = /\$_(POST|GET|REQUEST|COOKIE)\s*\[[^\]]{1,40}\]\s*\(\s*\$_(POST|GET|REQUEST|COOKIE)/
  condition:
    $dyn
}

rule php_obfuscated_loader
{
  meta:
    description = "Decoder chains that unpack and run hidden PHP: eval(gzinflate(base64_decode(...))) and the like"
    severity = "high"
  strings:
    $chain = /(eval|assert)\s*\(\s*(@\s*)?(gzinflate|gzuncompress|gzdecode|str_rot13|base64_decode|strrev|convert_uudecode)\s*\(\s*(@\s*)?(gzinflate|gzuncompress|gzdecode|str_rot13|base64_decode|strrev|convert_uudecode)\s*\(/ nocase
    $blob_eval = /(eval|assert)\s*\(\s*(@\s*)?(base64_decode|gzinflate|str_rot13)\s*\(\s*['"][A-Za-z0-9+\/=]{200,}/ nocase
  condition:
    any of them
}

rule php_hidden_in_image
{
  meta:
    description = "PHP code inside a file that starts as a GIF, PNG or JPEG image (a shell passed off as an upload)"
    severity = "critical"
  strings:
    $php = "<?php" nocase
    $short = /<\?=?\s*(eval|system|assert|exec|passthru)/ nocase
  condition:
    (uint32(0) == 0x38464947 or uint32(0) == 0x474e5089 or uint16(0) == 0xd8ff) and any of them
}

rule known_web_shell_markers
{
  meta:
    description = "Strings of widespread web shells and their panels (WSO/FilesMan, c99, r57, b374k, Weevely, China Chopper)"
    severity = "critical"
  strings:
    $wso = "FilesMan" ascii
    $wso2 = "WSO " ascii
    $c99 = "c99shell" nocase
    $r57 = "r57shell" nocase
    $b374k = "b374k" nocase
    $chopper = /@eval\(\$_POST\[['"]?[a-z0-9]{1,12}['"]?\]\)/ nocase
    $weevely = /\$[a-z]{1,8}=str_replace\(['"][a-z]{1,8}['"],['"]['"],['"][a-z]{8,}['"]\);/
  condition:
    any of them
}

rule node_command_execution_from_request
{
  meta:
    description = "Node.js handler that runs request input as a command (child_process with req.query, req.body or req.params)"
    severity = "critical"
  strings:
    $cp = /require\s*\(\s*['"](node:)?child_process['"]\s*\)/
    $exec = /\b(exec|execSync|spawn|spawnSync)\s*\(\s*req\.(query|body|params)\b/
  condition:
    $cp and $exec
}
