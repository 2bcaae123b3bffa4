-- wrk script: POSTs signed Solaris IDENTIFICATION notifications to the app, each with its own
-- Solaris-Webhook-Id (the app deduplicates on it, so a repeated id would only count a duplicate).
-- Made by benchmarks/webhook_ingest.py; arguments after `--`: <data prefix> <path> <subscription id>.
-- Each thread reads its own file <prefix>.<thread number>: one "signature webhook-id entity-id body"
-- line per request. Like the other scripts, every request is formatted when it is sent.
local threads = {}

function setup(thread)
  thread:set("tid", #threads + 1)
  table.insert(threads, thread)
end

function init(args)
  path, subscription = args[2], args[3]
  signatures, ids, entities, bodies = {}, {}, {}, {}
  for line in io.lines(args[1] .. "." .. tid) do
    local signature, id, entity, body = line:match("^(%S+) (%S+) (%S+) (.*)$")
    table.insert(signatures, signature)
    table.insert(ids, id)
    table.insert(entities, entity)
    table.insert(bodies, body)
  end
  counter = 0
end

function request()
  counter = counter + 1
  -- Past the end the notifications come round again: those are duplicates, and the benchmark says so.
  local i = (counter - 1) % #bodies + 1
  local headers = {
    ["Content-Type"] = "application/json",
    ["Solaris-Webhook-Id"] = ids[i],
    ["Solaris-Webhook-Subscription-Id"] = subscription,
    ["Solaris-Webhook-Event-Type"] = "IDENTIFICATION",
    ["Solaris-Entity-Id"] = entities[i],
    ["Solaris-Webhook-Attempt"] = "1",
    ["Solaris-Webhook-Signature"] = signatures[i],
  }
  return wrk.format("POST", path, headers, bodies[i])
end
