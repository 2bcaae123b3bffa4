-- wrk script: POSTs signed Veriff decision webhooks to the app, a distinct body per request
-- (the app deduplicates on the body's hash, so a repeated body would only count a duplicate).
-- Made by benchmarks/webhook_ingest.py; arguments after `--`: <data prefix> <path> <api key>.
-- Each thread reads its own file <prefix>.<thread number>: one "signature body" line per request.
-- Like the reference app's wrk script (benchmarks/README.md), every request is formatted when it is sent.
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  path, api_key = args[2], args[3]
  signatures, bodies = {}, {}
  for line in io.lines(args[1] .. "." .. tid) do
    local signature, body = line:match("^(%S+) (.*)$")
    table.insert(signatures, signature)
    table.insert(bodies, body)
  end
  counter = 0
end

function request()
  counter = counter + 1
  -- Past the end the bodies come round again: those are duplicates, and the benchmark says so.
  local i = (counter - 1) % #bodies + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["X-AUTH-CLIENT"] = api_key,
    ["X-HMAC-SIGNATURE"] = signatures[i],
  }
  return wrk.format("POST", path, headers, bodies[i])
end
