#!/usr/bin/env bash
# Writes the wrk script of the benchmarks' recall load: POST /api/recall (JSON) with 10 clicked
# items drawn at random from ASINS (one per line) and topn 500, the same for every benchmark.
# Usage: bash scripts/recall_lua.sh ASINS_FILE OUT.lua
set -euo pipefail
cat >"$2" <<LUA
local asins = {}
for line in io.lines("$1") do asins[#asins + 1] = line end
math.randomseed(7)
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
request = function()
  local c = {}
  for i = 1, 10 do c[i] = '"' .. asins[math.random(#asins)] .. '"' end
  return wrk.format(nil, "/api/recall", nil, '{"clicks":[' .. table.concat(c, ",") .. '],"params":{"topn":500}}')
end
LUA
